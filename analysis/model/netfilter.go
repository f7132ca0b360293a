package model

import (
	"errors"
	"io"

	"tkesnap/parsers/ipset"
	"tkesnap/parsers/iptables"
)

// Bundle file names of a node's netfilter state (docs/design.md §2), relative to
// nodes/<name>/.
const (
	FileIPTables       = "iptables-save.txt"        // iptables-save -c, the default backend
	FileIPTablesLegacy = "iptables-legacy-save.txt" // when both backends exist
	FileIPTablesNft    = "iptables-nft-save.txt"
	FileIP6Tables      = "ip6tables-save.txt"
	FileIPSet          = "ipset.txt" // ipset save
)

// Netfilter is a node's iptables state: every iptables dump collected, in
// the order of the constants above, and its ipsets.
type Netfilter struct {
	IPTables []*IPTablesDump
	// IPSets is ipset.txt (nil when not collected); -m set matches are
	// undecidable without it.
	IPSets     *ipset.Save
	IPSetsFile string
}

// IPTablesDump is one parsed dump with the bundle path it came from, so
// findings can cite file and line (Rule.Line).
type IPTablesDump struct {
	File  string // bundle path, e.g. "nodes/n1/iptables-save.txt"
	Name  string // FileIPTables, FileIPTablesLegacy, ...
	Rules *iptables.Ruleset
}

// IPv4 returns the dump the node's packets go through: iptables-save.txt,
// else the nft or legacy one that holds rules. Nil when none was collected.
func (n *Netfilter) IPv4() *IPTablesDump {
	var best *IPTablesDump
	for _, d := range n.IPTables {
		if d.Name == FileIP6Tables {
			continue
		}
		if d.Name == FileIPTables {
			return d
		}
		if best == nil || best.Rules.NumRules() < d.Rules.NumRules() {
			best = d
		}
	}
	return best
}

// Backends returns the node's legacy and nft dumps: iptables-legacy-save.txt
// and iptables-nft-save.txt, or the default iptables-save.txt standing for
// the backend its header names when that backend's own dump is absent.
// Either is nil when the bundle holds none of it.
func (n *Netfilter) Backends() (legacy, nft *IPTablesDump) {
	legacy, nft = n.Dump(FileIPTablesLegacy), n.Dump(FileIPTablesNft)
	if def := n.Dump(FileIPTables); def != nil && def.Rules != nil {
		switch def.Rules.Backend {
		case "nf_tables":
			if nft == nil {
				nft = def
			}
		case "legacy":
			if legacy == nil {
				legacy = def
			}
		}
	}
	return legacy, nft
}

// Dump returns the dump of a given file name (FileIPTables, ...), or nil.
func (n *Netfilter) Dump(name string) *IPTablesDump {
	for _, d := range n.IPTables {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func (c *Cluster) loadNetfilter(n *Node) {
	for _, name := range []string{FileIPTables, FileIPTablesLegacy, FileIPTablesNft, FileIP6Tables} {
		file := n.File(name)
		if !c.Bundle.Has(file) {
			continue
		}
		// Read once ahead to reserve what its new rules will hold: a dump
		// over the budget is refused before any of its rules is parsed.
		// (A read error there is met again, and reported, by the parse.)
		res, err := c.reserveRules(file)
		if !errors.Is(err, iptables.ErrBudget) {
			var f io.ReadCloser
			if f, err = c.Bundle.Open(file); err != nil {
				res.Cancel()
			} else {
				var rs *iptables.Ruleset
				rs, err = iptables.ParseWith(f, iptables.Options{Limits: iptables.DefaultLimits(), Interner: c.rules, Reservation: res})
				f.Close()
				if !errors.Is(err, iptables.ErrBudget) {
					c.keepDump(n, file, name, rs, err)
					continue
				}
			}
		}
		if errors.Is(err, iptables.ErrBudget) {
			c.Problem(file, 0, "not analysed: the iptables rules of the bundle's nodes read so far fill the memory budget (%d MiB of distinct rules); this dump counts as not collected", c.rules.Budget>>20)
			continue
		}
		c.Problem(file, 0, "%v", err)
	}
	file := n.File(FileIPSet)
	if !c.Bundle.Has(file) {
		return
	}
	f, err := c.Bundle.Open(file)
	if err != nil {
		c.Problem(file, 0, "%v", err)
		return
	}
	defer f.Close()
	s, err := ipset.Parse(f)
	if err != nil {
		c.Problem(file, 0, "%v", err)
	}
	if s != nil {
		for _, p := range s.Problems {
			c.Problem(file, p.Line, "%s", p.Message)
		}
		n.IPSets, n.IPSetsFile = s, file
	}
}

// reserveRules reads a dump ahead of its parse to reserve in the budget
// what its rules new to the bundle will hold (iptables.Interner.Reserve);
// nil when it fits whatever it holds.
func (c *Cluster) reserveRules(file string) (*iptables.Reservation, error) {
	if c.rules == nil || c.rules.Budget <= 0 {
		return nil, nil
	}
	// First a read without lookups: a dump that fits whatever it holds
	// needs no reservation (most dumps: a cluster's nodes share rules).
	f, err := c.Bundle.Open(file)
	if err != nil {
		return nil, err
	}
	fits, err := c.rules.Fits(f)
	f.Close()
	if err != nil || fits {
		return nil, err
	}
	if f, err = c.Bundle.Open(file); err != nil {
		return nil, err
	}
	defer f.Close()
	return c.rules.Reserve(f, iptables.DefaultLimits())
}

// keepDump records a parsed dump of node n and its problems (err: the
// read broke off; what was parsed before is kept).
func (c *Cluster) keepDump(n *Node, file, name string, rs *iptables.Ruleset, err error) {
	if err != nil {
		c.Problem(file, 0, "%v", err)
		if rs == nil {
			return
		}
	}
	for _, p := range rs.Problems {
		c.Problem(file, p.Line, "%s", p.Message)
	}
	n.IPTables = append(n.IPTables, &IPTablesDump{File: file, Name: name, Rules: rs})
}
