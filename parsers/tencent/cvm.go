package tencent

// Instance is one item of cvm DescribeInstances.InstanceSet.
type Instance struct {
	InstanceId         string   `json:"InstanceId"`
	InstanceName       string   `json:"InstanceName"`
	InstanceState      string   `json:"InstanceState"`
	PrivateIpAddresses []string `json:"PrivateIpAddresses"`
	PublicIpAddresses  []string `json:"PublicIpAddresses"`
	IPv6Addresses      []string `json:"IPv6Addresses"`
	// SecurityGroupIds are in binding order: the order in which the SGs'
	// rules are matched (cvm API: "实例所属安全组").
	SecurityGroupIds   []string `json:"SecurityGroupIds"`
	InternetAccessible struct {
		InternetMaxBandwidthOut FlexInt    `json:"InternetMaxBandwidthOut"`
		InternetChargeType      string     `json:"InternetChargeType"`
		PublicIpAssigned        *FlexBool  `json:"PublicIpAssigned"`
		BandwidthPackageId      FlexString `json:"BandwidthPackageId"`
	} `json:"InternetAccessible"`
	VirtualPrivateCloud struct {
		VpcId              string   `json:"VpcId"`
		SubnetId           string   `json:"SubnetId"`
		PrivateIpAddresses []string `json:"PrivateIpAddresses"`
	} `json:"VirtualPrivateCloud"`
	Line int `json:"-"`
}

type instancesResp struct {
	InstanceSet []Instance `json:"InstanceSet"`
}

// ParseInstances reads cvm DescribeInstances.
func ParseInstances(data []byte) ([]Instance, error) {
	return parseList(data, "InstanceSet", func(r *instancesResp) []Instance { return r.InstanceSet },
		func(c *Instance, l int) { c.Line = l })
}
