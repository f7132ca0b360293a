package tencent

import "strings"

// NetworkAccountType is vpc DescribeNetworkAccountType: the account's
// network type, "STANDARD" (标准账户类型) or "LEGACY" (传统账户类型). On a
// LEGACY account a public CLB without bandwidth of its own forwards with
// the real servers' public bandwidth, which is why the guide's "节点公网
// 带宽" check applies only there (仅针对传统账户类型).
type NetworkAccountType struct {
	NetworkAccountType string `json:"NetworkAccountType"`
	Line               int    `json:"-"`
}

// ParseNetworkAccountType reads vpc DescribeNetworkAccountType (bare or
// wrapped in {"Response": ...}). The type comes back upper-cased; an
// empty string means the response carried none.
func ParseNetworkAccountType(data []byte) (NetworkAccountType, error) {
	var out NetworkAccountType
	err := decodeInto(data, func() any { return new(NetworkAccountType) }, func(v any) {
		if t := v.(*NetworkAccountType); t.NetworkAccountType != "" {
			out.NetworkAccountType = strings.ToUpper(strings.TrimSpace(t.NetworkAccountType))
		}
	})
	out.Line = keyLine(data, "NetworkAccountType")
	return out, err
}
