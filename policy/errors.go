package policy

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinels for errors.Is on the problems New reports; each *ConfigError wraps one of them.
var (
	// ErrMissing: a required key is absent or empty.
	ErrMissing = errors.New("missing")
	// ErrBadValue: a value cannot be parsed or is not one of the allowed words.
	ErrBadValue = errors.New("bad value")
	// ErrDuplicate: a name, claim or match is given twice.
	ErrDuplicate = errors.New("duplicate")
	// ErrUnknownTenant: a connector names a tenant that is not defined.
	ErrUnknownTenant = errors.New("unknown tenant")
	// ErrOverlap: a connector can never match because of one before it.
	ErrOverlap = errors.New("overlapping connectors")
	// ErrWindow: a cutover window is empty or inverted.
	ErrWindow = errors.New("bad window")
	// ErrUnusedKey: a key is set that has no effect with the other settings.
	ErrUnusedKey = errors.New("key has no effect")
)

// ConfigError is one problem in a Config, with where it is. Error() reads
// `connector "tenant-b": tenant "tenant-c" is not defined`.
type ConfigError struct {
	// Section is the TOML table: "organization", "connector", "tenant", "domain" or "cutover".
	Section string
	// Index is the 0-based position in the section's array of tables (-1 for "organization").
	Index int
	// Name is the entry's name (a cutover's match), "" when unset.
	Name string
	// Key is the key at fault ("networks"), "" when the entry as a whole is.
	Key string
	// Err says what is wrong and wraps one of the sentinels.
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string { return e.Where() + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// Where names the entry for the admin: `connector "tenant-b"`, `connector #2` when unnamed,
// `[organization]`.
func (e *ConfigError) Where() string {
	switch {
	case e.Index < 0:
		return "[" + e.Section + "]"
	case e.Name != "":
		return e.Section + " " + strconv.Quote(e.Name)
	default:
		return e.Section + " #" + strconv.Itoa(e.Index+1)
	}
}

// KeyPath is the TOML key path of the problem, e.g. "connector[1].networks" (0-based index), for
// tools that map a key to a line of the file.
func (e *ConfigError) KeyPath() string {
	p := e.Section
	if e.Index >= 0 {
		p += "[" + strconv.Itoa(e.Index) + "]"
	}
	if e.Key != "" {
		p += "." + e.Key
	}
	return p
}

// problems collects the ConfigErrors of one Config.
type problems struct {
	errs []error
}

// entry returns a reporter for one entry of a section.
func (ps *problems) entry(section string, index int, name string) reporter {
	return reporter{ps: ps, section: section, index: index, name: name}
}

func (ps *problems) join() error { return errors.Join(ps.errs...) }

// reporter adds problems for one entry.
type reporter struct {
	ps      *problems
	section string
	index   int
	name    string
}

// add records a problem of kind (a sentinel) at key; format and args say what is wrong and may
// wrap a cause with %w.
func (r reporter) add(key string, kind error, format string, args ...any) {
	r.ps.errs = append(r.ps.errs, &ConfigError{
		Section: r.section, Index: r.index, Name: r.name, Key: key,
		Err: &kindError{kind: kind, err: fmt.Errorf(format, args...)},
	})
}

// kindError reads as its message and matches both its sentinel and any wrapped cause.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }
