# Captures (issue 8): lab captures recorded in network namespaces (root),
# and the benchmark against tshark and tcpdump on a generated capture.
LAB_RECORD_TARGETS += lab-record-pcap
BENCH_TARGETS += bench-pcap

.PHONY: lab-record-pcap bench-pcap
lab-record-pcap:
	./lab/pcap/record.sh

bench-pcap:
	./lab/pcap/bench.sh
