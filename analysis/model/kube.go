package model

// Kube is the cluster/ part of the bundle: kubectl objects.
type Kube struct{}

func (c *Cluster) loadKube() {}
