package daemon

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// ErrHeld is returned by a reload that the guard held: the edit would lose much, and the old
// generation serves until the admin confirms it with SIGHUP (systemctl reload edgerewrite).
var ErrHeld = errors.New("reload held until confirmed with SIGHUP (systemctl reload edgerewrite)")

// losses lists what the next generation (its config and rules stats) would drop from the one
// in service, each a sentence for the log and `check`: more than the guard's share of the
// rules, every rule of a file, an organisation domain, a connector, a tenant, or the last
// organisation domain. An edit that only adds or changes loses nothing.
func losses(cur *decide.Generation, next *config.Config, stats rewrite.Stats) []string {
	var out []string
	old := cur.Rules.Stats()
	if lost := old.Rules - stats.Rules; lost > 0 && float64(lost) > next.GuardShare()*float64(old.Rules) {
		out = append(out, fmt.Sprintf("%d of the %d rules in service (%.0f%%, more than reload_guard_share %.0f%%)",
			lost, old.Rules, 100*float64(lost)/float64(old.Rules), 100*next.GuardShare()))
	}
	var emptied []string
	for f, n := range old.ByFile {
		if n > 0 && stats.ByFile[f] == 0 {
			emptied = append(emptied, f)
		}
	}
	sort.Strings(emptied)
	for _, f := range emptied {
		out = append(out, fmt.Sprintf("every rule of %s (%d)", filepath.Base(f), old.ByFile[f]))
	}
	was, is := cur.Policy.Inventory(), next.Policy().Inventory()
	for _, d := range gone(was.OrgDomains, is.OrgDomains) {
		out = append(out, "organisation domain "+d)
	}
	for _, c := range gone(was.Connectors, is.Connectors) {
		out = append(out, "connector "+c)
	}
	for _, t := range gone(was.Tenants, is.Tenants) {
		out = append(out, "tenant "+t)
	}
	if is.RefusesAllMail && !was.RefusesAllMail {
		out = append(out, "every organisation domain: relay protection would refuse all Internet mail")
	}
	return out
}

// gone returns the sorted names of was that is lacks.
func gone(was, is []string) []string {
	var out []string
	for _, w := range was {
		if _, found := slices.BinarySearch(is, w); !found {
			out = append(out, w)
		}
	}
	return out
}

// heldText is the one-line summary of a held edit's losses.
func heldText(ls []string) string { return "would remove " + strings.Join(ls, "; ") }
