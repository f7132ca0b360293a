package model

import (
	"net/netip"
	"strings"
	"testing"

	"tkesnap/parsers/netlink"
)

type netlinkRoute = netlink.Route

func route(table, dst, gw, dev string, metric int) netlink.Route {
	r := netlink.Route{Type: "unicast", Table: table, Dst: netip.MustParsePrefix(dst), Dev: dev, Metric: metric}
	if gw != "" {
		r.Gateway = netip.MustParseAddr(gw)
	}
	return r
}

func rules(t *testing.T, js string) []netlink.Rule {
	r, p := netlink.ParseRules(strings.NewReader(js))
	if len(p) > 0 {
		t.Fatal(p)
	}
	return r
}
