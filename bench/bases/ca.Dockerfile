# Bench-only variant of a stand-in: the host's CA bundle in the system store, and the variables
# pip, requests and uv read, so that both tools reach the package index through this network's
# TLS interception from inside any build stage (the peer has no way to pass a CA in).
# launchbuild itself does not need this: it mounts the bundle as a BuildKit secret.
ARG BASE
FROM ${BASE}
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
