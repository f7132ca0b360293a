package finding

// Merge returns one finding per (ID, primary object): the same fault seen
// on several nodes, from several source IPs or in several evidence files
// (ipset and ipvsadm for one missing rule; a check and the tracer for one
// SG policy) becomes a single finding carrying every object and every
// piece of evidence, with Count saying how many reports it merges. The
// primary object is the first object (checks name the faulty object
// first: the SG, the Service, the configmap); a finding without objects
// is keyed by its first evidence file.
//
// The first finding of a group (in input order) keeps its arguments and
// so its message, unless a later one refines them (every argument of the
// first with the same value, and more: the tracer's
// IPTABLES_BACKEND_SPLIT naming the stale rule that decides a flow, beside
// the backend check's counts); the group takes the worst severity of its
// members.
// Merge is pure: the input slice is not modified.
func Merge(fs []Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	at := map[string]int{}
	for _, f := range fs {
		k := f.ID + "\x00" + PrimaryObject(f)
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			f.Objects = append([]string{}, f.Objects...)
			f.Evidence = append([]Evidence{}, f.Evidence...)
			if f.Count == 0 {
				f.Count = 1
			}
			out = append(out, f)
			continue
		}
		g := &out[i]
		if refines(f.Args, g.Args) {
			g.Args = f.Args
		}
		n := f.Count
		if n == 0 {
			n = 1
		}
		g.Count += n
		if f.Severity > g.Severity {
			g.Severity = f.Severity
		}
		for _, o := range f.Objects {
			if !containsStr(g.Objects, o) {
				g.Objects = append(g.Objects, o)
			}
		}
		for _, e := range f.Evidence {
			if !containsEv(g.Evidence, e) {
				g.Evidence = append(g.Evidence, e)
			}
		}
		for _, x := range f.Explains {
			if !containsStr(g.Explains, x) {
				g.Explains = append(g.Explains, x)
			}
		}
	}
	// Count 1 is the common case; it stays out of the JSON
	for i := range out {
		if out[i].Count == 1 {
			out[i].Count = 0
		}
	}
	return out
}

// PrimaryObject is the object a finding is about, the key Merge groups by.
// A capture finding is about a destination seen failing in a capture
// (its "dst" argument): SYNs unanswered to two ports are two faults even
// when one capture file shows both.
func PrimaryObject(f Finding) string {
	if dst := f.Args["dst"]; dst != "" {
		return "dst/" + dst
	}
	if len(f.Objects) > 0 {
		return f.Objects[0]
	}
	if len(f.Evidence) > 0 {
		return f.Evidence[0].File
	}
	return ""
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func containsEv(es []Evidence, e Evidence) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}

// refines: a holds every argument of b with the same value, and more.
func refines(a, b Args) bool {
	if len(a) <= len(b) {
		return false
	}
	for k, v := range b {
		if w, ok := a[k]; !ok || w != v {
			return false
		}
	}
	return true
}
