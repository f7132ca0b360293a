package tencent

import "strings"

// LoadBalancer is one item of clb DescribeLoadBalancers.LoadBalancerSet
// (or DescribeLoadBalancersDetail.LoadBalancerDetailSet, whose
// SecurityGroup field and 0/1 LoadBalancerPassToTarget differ).
type LoadBalancer struct {
	LoadBalancerId   string `json:"LoadBalancerId"`
	LoadBalancerName string `json:"LoadBalancerName"`
	// LoadBalancerType is OPEN (public) or INTERNAL; the Detail API says
	// Public / Private.
	LoadBalancerType string   `json:"LoadBalancerType"`
	Forward          FlexInt  `json:"Forward"` // 1 = CLB (layer 4/7), 0 = classic
	LoadBalancerVips []string `json:"LoadBalancerVips"`
	Address          string   `json:"Address"` // Detail API
	AddressIPv6      string   `json:"AddressIPv6"`
	VpcId            string   `json:"VpcId"`
	SubnetId         string   `json:"SubnetId"`
	// SecureGroups are in binding order (matched top to bottom).
	SecureGroups  []string `json:"SecureGroups"`
	SecurityGroup []string `json:"SecurityGroup"` // Detail API
	// LoadBalancerPassToTarget: when true, traffic from the CLB to its
	// real servers in the same VPC bypasses the real servers' SGs and only
	// the CLB's SGs filter clients ("放通后端 / Allow by Default", CLB doc
	// 214/14733).
	LoadBalancerPassToTarget FlexBool `json:"LoadBalancerPassToTarget"`
	Tags                     []struct {
		TagKey   string `json:"TagKey"`
		TagValue string `json:"TagValue"`
	} `json:"Tags"`
	NetworkAttributes *struct {
		InternetMaxBandwidthOut FlexInt `json:"InternetMaxBandwidthOut"`
	} `json:"NetworkAttributes"`
	Line int `json:"-"`
}

// Public reports an internet-facing CLB.
func (l LoadBalancer) Public() bool {
	t := strings.ToUpper(l.LoadBalancerType)
	return t == "OPEN" || t == "PUBLIC"
}

// SGs returns the bound SGs in order, from either API form.
func (l LoadBalancer) SGs() []string {
	if len(l.SecureGroups) > 0 {
		return l.SecureGroups
	}
	return l.SecurityGroup
}

// VIPs returns the addresses clients connect to.
func (l LoadBalancer) VIPs() []string {
	out := append([]string(nil), l.LoadBalancerVips...)
	if l.Address != "" {
		out = append(out, l.Address)
	}
	if l.AddressIPv6 != "" {
		out = append(out, l.AddressIPv6)
	}
	return out
}

// Tag returns the value of a tag, or "".
func (l LoadBalancer) Tag(k string) string {
	for _, t := range l.Tags {
		if t.TagKey == k {
			return t.TagValue
		}
	}
	return ""
}

type loadBalancersResp struct {
	LoadBalancerSet       []LoadBalancer `json:"LoadBalancerSet"`
	LoadBalancerDetailSet []LoadBalancer `json:"LoadBalancerDetailSet"`
}

// ParseLoadBalancers reads clb DescribeLoadBalancers or DescribeLoadBalancersDetail.
func ParseLoadBalancers(data []byte) ([]LoadBalancer, error) {
	var out []LoadBalancer
	err := decodeInto(data, func() any { return new(loadBalancersResp) }, func(v any) {
		r := v.(*loadBalancersResp)
		out = append(out, r.LoadBalancerSet...)
		out = append(out, r.LoadBalancerDetailSet...)
	})
	lines := itemLines(data, "LoadBalancerSet")
	lines = append(lines, itemLines(data, "LoadBalancerDetailSet")...)
	assignLines(out, lines, func(l *LoadBalancer, n int) { l.Line = n })
	return out, err
}

// Rule is a layer-7 forwarding rule (domain + URL) of a listener.
type Rule struct {
	LocationId string    `json:"LocationId"`
	Domain     string    `json:"Domain"`
	Url        string    `json:"Url"`
	Targets    []Backend `json:"Targets"`
}

// Listener is one item of clb DescribeListeners.Listeners.
type Listener struct {
	ListenerId   string  `json:"ListenerId"`
	ListenerName string  `json:"ListenerName"`
	Protocol     string  `json:"Protocol"` // TCP UDP TCP_SSL QUIC HTTP HTTPS
	Port         FlexInt `json:"Port"`
	EndPort      FlexInt `json:"EndPort"` // port-range listeners, 0 otherwise
	Rules        []Rule  `json:"Rules"`
	// HealthCheck: HealthSwitch 1 = on; SourceIpType 0 = probes come from
	// the CLB VIP, 1 = from 100.64.0.0/10 (CLB API HealthCheck).
	HealthCheck *struct {
		HealthSwitch FlexInt `json:"HealthSwitch"`
		SourceIpType FlexInt `json:"SourceIpType"`
		CheckPort    FlexInt `json:"CheckPort"`
	} `json:"HealthCheck"`
	Line int `json:"-"`
}

// Transport returns the protocol a security group sees for this
// listener: HTTP/HTTPS/TCP_SSL run over TCP, QUIC over UDP.
func (l Listener) Transport() string {
	switch strings.ToUpper(l.Protocol) {
	case "UDP", "QUIC":
		return "udp"
	}
	return "tcp"
}

type listenersResp struct {
	Listeners []Listener `json:"Listeners"`
}

// ParseListeners reads clb DescribeListeners.
func ParseListeners(data []byte) ([]Listener, error) {
	return parseList(data, "Listeners", func(r *listenersResp) []Listener { return r.Listeners },
		func(c *Listener, l int) { c.Line = l })
}

// Backend is a real server of a listener or rule (DescribeTargets).
type Backend struct {
	Type               string   `json:"Type"` // CVM | ENI
	InstanceId         string   `json:"InstanceId"`
	InstanceName       string   `json:"InstanceName"`
	Port               FlexInt  `json:"Port"`
	Weight             FlexInt  `json:"Weight"`
	PrivateIpAddresses []string `json:"PrivateIpAddresses"`
	EniId              string   `json:"EniId"`
}

// ListenerTargets is one item of clb DescribeTargets.Listeners.
type ListenerTargets struct {
	ListenerId string    `json:"ListenerId"`
	Protocol   string    `json:"Protocol"`
	Port       FlexInt   `json:"Port"`
	Rules      []Rule    `json:"Rules"`
	Targets    []Backend `json:"Targets"`
	Line       int       `json:"-"`
}

// All returns the backends of the listener and of all its rules.
func (t ListenerTargets) All() []Backend {
	out := append([]Backend(nil), t.Targets...)
	for _, r := range t.Rules {
		out = append(out, r.Targets...)
	}
	return out
}

type targetsResp struct {
	Listeners []ListenerTargets `json:"Listeners"`
}

// ParseTargets reads clb DescribeTargets.
func ParseTargets(data []byte) ([]ListenerTargets, error) {
	return parseList(data, "Listeners", func(r *targetsResp) []ListenerTargets { return r.Listeners },
		func(c *ListenerTargets, l int) { c.Line = l })
}

// TargetHealth is the health of one real server (DescribeTargetHealth).
type TargetHealth struct {
	LoadBalancerId     string
	ListenerId         string
	ListenerPort       int
	Protocol           string
	LocationId         string
	IP                 string   `json:"IP"`
	Port               FlexInt  `json:"Port"`
	TargetId           string   `json:"TargetId"`
	HealthStatus       FlexBool `json:"HealthStatus"`
	HealthStatusDetail string   `json:"HealthStatusDetail"` // Alive | Dead | Unknown | Close
	Line               int      `json:"-"`
}

type targetHealthResp struct {
	LoadBalancers []struct {
		LoadBalancerId string `json:"LoadBalancerId"`
		Listeners      []struct {
			ListenerId string  `json:"ListenerId"`
			Port       FlexInt `json:"Port"`
			Protocol   string  `json:"Protocol"`
			Rules      []struct {
				LocationId string         `json:"LocationId"`
				Targets    []TargetHealth `json:"Targets"`
			} `json:"Rules"`
		} `json:"Listeners"`
	} `json:"LoadBalancers"`
}

// ParseTargetHealth reads clb DescribeTargetHealth, flattened to one
// record per real server with its load balancer and listener.
func ParseTargetHealth(data []byte) ([]TargetHealth, error) {
	var out []TargetHealth
	err := decodeInto(data, func() any { return new(targetHealthResp) }, func(v any) {
		for _, lb := range v.(*targetHealthResp).LoadBalancers {
			for _, l := range lb.Listeners {
				for _, r := range l.Rules {
					for _, t := range r.Targets {
						t.LoadBalancerId, t.ListenerId, t.ListenerPort, t.Protocol, t.LocationId =
							lb.LoadBalancerId, l.ListenerId, int(l.Port), l.Protocol, r.LocationId
						out = append(out, t)
					}
				}
			}
		}
	})
	assignLines(out, itemLines(data, "Targets"), func(t *TargetHealth, n int) { t.Line = n })
	return out, err
}
