package model

// Cloud is the cloud/ part of the bundle: Tencent Cloud API responses.
type Cloud struct{}

func (c *Cluster) loadCloud() {}
