
# Benchmarks against W&B Launch's builder (issue 8): test environment, the peer's venv and the
# shared base images, the resolver bench, then the A/B build bench. Writes bench/results/.
# About 20 minutes on 2 cores; BENCH_RUNS / BENCH_HEAVY_RUNS / BENCH_VERDICT_RUNS / BENCH_GPU_CAP_S tune it.
.PHONY: bench
bench:
	bash scripts/testenv.sh up
	bash bench/setup.sh
	python3 bench/bench_resolve.py
	python3 bench/run_bench.py
