# Stand-in for nvidia/cuda:11.8.0-runtime-ubuntu22.04: the Debian 12 minbase carrying the real
# image's ENV, LABEL and file markers, and no Python (the build has to install it with apt, as it
# must on the real image). No CUDA libraries are installed: nothing here can run on a GPU.
#
# Values copied verbatim (x86_64 stage) from NVIDIA's container-images repo, GitHub copy
# taehun-kmu/FMCL-Docker, commit 31bd822f, after 684356f0 (2023-11-08, "Remove end-of-life
# drivers for r418 and r450"):
#   dist/11.8.0/ubuntu2204/base/Dockerfile           NVARCH, NVIDIA_REQUIRE_CUDA, NV_CUDA_*, CUDA_VERSION,
#                                                    PATH, LD_LIBRARY_PATH, NVIDIA_VISIBLE_DEVICES, ...
#   dist/11.8.0/ubuntu2204/runtime/Dockerfile         NV_CUDA_LIB_VERSION, NV_LIB*, NCCL_VERSION, NVIDIA_PRODUCT_NAME
#   dist/11.8.0/ubuntu2204/runtime/cudnn8/Dockerfile  NV_CUDNN_*, LABEL com.nvidia.cudnn.version
# Brand clauses allow driver branch(es) 470 (shared/reference/compat-sources.md 3.1).
ARG BASE=launchbuild-test/debian:12
FROM ${BASE}

# --- base
ENV NVARCH x86_64
ENV NVIDIA_REQUIRE_CUDA "cuda>=11.8 brand=tesla,driver>=470,driver<471 brand=unknown,driver>=470,driver<471 brand=nvidia,driver>=470,driver<471 brand=nvidiartx,driver>=470,driver<471 brand=geforce,driver>=470,driver<471 brand=geforcertx,driver>=470,driver<471 brand=quadro,driver>=470,driver<471 brand=quadrortx,driver>=470,driver<471 brand=titan,driver>=470,driver<471 brand=titanrtx,driver>=470,driver<471"
ENV NV_CUDA_CUDART_VERSION 11.8.89-1
ENV NV_CUDA_COMPAT_PACKAGE cuda-compat-11-8
LABEL maintainer "NVIDIA CORPORATION <cudatools@nvidia.com>"
ENV CUDA_VERSION 11.8.0

# The real image gets /usr/local/cuda-11.8 from cuda-cudart-11-8, and /usr/local/cuda through
# update-alternatives; version.json is the file inspectors read the toolkit version from.
COPY version.json /usr/local/cuda-11.8/version.json
RUN ln -s /usr/local/cuda-11.8 /etc/alternatives/cuda \
 && ln -s /etc/alternatives/cuda /usr/local/cuda \
 && echo "/usr/local/nvidia/lib" >> /etc/ld.so.conf.d/nvidia.conf \
 && echo "/usr/local/nvidia/lib64" >> /etc/ld.so.conf.d/nvidia.conf

ENV PATH /usr/local/nvidia/bin:/usr/local/cuda/bin:${PATH}
ENV LD_LIBRARY_PATH /usr/local/nvidia/lib:/usr/local/nvidia/lib64
ENV NVIDIA_VISIBLE_DEVICES all
ENV NVIDIA_DRIVER_CAPABILITIES compute,utility

# --- runtime
ENV NV_CUDA_LIB_VERSION 11.8.0-1
ENV NV_NVTX_VERSION 11.8.86-1
ENV NV_LIBNPP_VERSION 11.8.0.86-1
ENV NV_LIBNPP_PACKAGE libnpp-11-8=${NV_LIBNPP_VERSION}
ENV NV_LIBCUSPARSE_VERSION 11.7.5.86-1
ENV NV_LIBCUBLAS_PACKAGE_NAME libcublas-11-8
ENV NV_LIBCUBLAS_VERSION 11.11.3.6-1
ENV NV_LIBCUBLAS_PACKAGE ${NV_LIBCUBLAS_PACKAGE_NAME}=${NV_LIBCUBLAS_VERSION}
ENV NV_LIBNCCL_PACKAGE_NAME libnccl2
ENV NV_LIBNCCL_PACKAGE_VERSION 2.15.5-1
ENV NCCL_VERSION 2.15.5-1
ENV NV_LIBNCCL_PACKAGE ${NV_LIBNCCL_PACKAGE_NAME}=${NV_LIBNCCL_PACKAGE_VERSION}+cuda11.8
ENV NVIDIA_PRODUCT_NAME="CUDA"

# --- cudnn8
ENV NV_CUDNN_VERSION 8.9.6.50
ENV NV_CUDNN_PACKAGE_NAME "libcudnn8"
ENV NV_CUDNN_PACKAGE "libcudnn8=$NV_CUDNN_VERSION-1+cuda11.8"
LABEL com.nvidia.cudnn.version="${NV_CUDNN_VERSION}"
