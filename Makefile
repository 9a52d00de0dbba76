# make bench runs the full benchmark and rewrites docs/benchmarks.md and docs/benchmarks.svg (tens of minutes).
.PHONY: bench
bench:
	go run ./bench
