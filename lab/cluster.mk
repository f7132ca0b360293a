# Netns lab cluster (issue 10): rebuilds testdata/bundles/* with the real
# collector against a netns cluster and a real kube-apiserver. Needs root.
LAB_TARGETS += lab-cluster
.PHONY: lab-cluster lab-cluster-down
lab-cluster: ; ./lab/cluster/lab.sh all
lab-cluster-down: ; ./lab/cluster/lab.sh down
