package rewrite

import (
	"errors"
	"hash/maphash"
	"maps"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	memdb "github.com/hashicorp/go-memdb"
)

// Options are fixed for a table's life.
type Options struct {
	// RecipientDelimiter is like Postfix's recipient_delimiter: each byte is a delimiter and
	// the local part is split at the first one found; "" turns address extensions off. Callers
	// pass "+" by default.
	RecipientDelimiter string
	// MaxFileSize is the largest rule file Load reads, in bytes; 0 means DefaultMaxFileSize.
	// A larger file is an error naming it, and the rules in service stay.
	MaxFileSize int64
}

// Stats describe the rules of one snapshot.
type Stats struct {
	// Rules is the number of rules in the table.
	Rules int
	// ByKind counts the rules of each kind.
	ByKind map[Kind]int
	// ByFile counts the rules of each rule file (path as Load saw it).
	ByFile map[string]int
	// FilesParsed is how many files the load that made this snapshot read and parsed (the
	// others were unchanged).
	FilesParsed int
	// Fingerprint identifies the rules in service, wherever they are written (see
	// Snapshot.Fingerprint).
	Fingerprint string
	// Notices are what the load that made this snapshot accepted but an admin should know:
	// those of the files it parsed, and the whole-set warnings about the rules it added or
	// changed (duplicate CSV Names, round trips that return to another mailbox of the same
	// domain). A load that changed nothing has none.
	Notices []Notice
}

// Table is the rule table in service. Load changes it; Snapshot gives a consistent view of it
// that a reload never changes. Its methods are safe for concurrent use.
//
// Layout. go-memdb holds one table, "buckets", with its one index, "id". Every rule has one
// lookup key per way it can be found (see lookupKind); keys are hashed (hash/maphash, seeded
// per Table) into numBuckets buckets per lookup kind, and one memdb object holds the rules
// of one bucket. One object per key was measured at over 4 s and about 1 GiB to insert 2 M keys
// (1 M bidirectional address rules) on the 2-core build machine; buckets cut the radix tree to
// at most 5×numBuckets small objects, so a million such rules load in about 2 s (3.3 s of CPU,
// parsing on every core) into about 320 MiB of heap, and an edit writes a handful of buckets.
// Readers hold a memdb read transaction (MVCC): a load builds new buckets beside the old ones
// and commits them in one write transaction; a bit set of used buckets lets lookups skip memdb
// for keys no rule can hold.
type Table struct {
	opts Options
	seed maphash.Seed
	db   *memdb.MemDB
	cur  atomic.Pointer[Snapshot]

	mu     sync.Mutex // serialises Load; guards the fields below
	files  map[string]*fileState
	counts [numLookupKinds]int // keys in the table, per lookup kind
	used   bucketSet           // buckets in the table
	ids    *bucketIDs
	kinds  map[Kind]int
	fp     fingerprintSum // of the rules in the table
}

// Snapshot is one consistent view of the rules; hold one per message. It is immutable and safe
// for concurrent use.
type Snapshot struct {
	txn    *memdb.Txn // read transaction
	opts   Options
	seed   maphash.Seed
	counts [numLookupKinds]int
	used   bucketSet // a lookup whose bucket is not used skips memdb
	ids    *bucketIDs
	stats  Stats
	files  map[string]*fileState // the rule files in service; never modified
	added  []*compiled           // the rules the load that made this snapshot added
}

// lookupKind is one way of finding a rule: by the lookup form of its internal side (outbound)
// or of its external side (inbound, bidirectional rules only).
type lookupKind byte

const (
	outAddress  lookupKind = iota // internal address of an address rule
	outDomain                     // internal domain of a domain rule
	outWildcard                   // domain after "*." of a wildcard rule
	inAddress                     // external address of a bidirectional address rule
	inDomain                      // external domain of a bidirectional domain rule
	numLookupKinds
)

// numBuckets is the number of buckets per lookup kind: a million keys of one kind make about
// 30 per bucket, still one short scan of hashes per lookup.
const numBuckets = 1 << 15

// numIDs bounds the bucket numbers of all lookup kinds (see bucketOf).
const numIDs = int(numLookupKinds) << 16

// bucketOf numbers the bucket of hash h of lookup kind k: kind<<16 | bucket.
func bucketOf(k lookupKind, h uint64) uint32 { return uint32(k)<<16 | uint32(h%numBuckets) }

// bucketIDs holds the memdb id of every bucket number n: the kind byte, then the bucket
// big-endian. One immutable copy per Table lets lookups pass &ids[n] to memdb without
// allocating.
type bucketIDs [numIDs][3]byte

func newBucketIDs() *bucketIDs {
	ids := new(bucketIDs)
	for n := range ids {
		ids[n] = [3]byte{byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return ids
}

// bucketSet is a bit set of bucket numbers.
type bucketSet []uint64

func newBucketSet() bucketSet         { return make(bucketSet, numIDs/64) }
func (s bucketSet) has(n uint32) bool { return s[n/64]&(1<<(n%64)) != 0 }
func (s bucketSet) set(n uint32, on bool) {
	if on {
		s[n/64] |= 1 << (n % 64)
	} else {
		s[n/64] &^= 1 << (n % 64)
	}
}

const (
	bucketTable = "buckets"
	idIndex     = "id"
)

// bucket is the memdb object: the rules whose key of one lookup kind hashes into one bucket.
// A bucket in a committed transaction is never modified; a load copies it.
type bucket struct {
	id    []byte // bucketIDs[n]
	slots []slot
}

type slot struct {
	hash uint64
	c    *compiled
}

// bucketIndexer is the memdb indexer of the "id" index: the bucket's id bytes.
type bucketIndexer struct{}

// FromObject returns the bucket's id.
func (bucketIndexer) FromObject(obj any) (bool, []byte, error) {
	return true, obj.(*bucket).id, nil
}

// FromArgs takes one bucket id as a *[3]byte (an element of bucketIDs).
func (bucketIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, errors.New("bucket index takes one argument")
	}
	id, ok := args[0].(*[3]byte)
	if !ok {
		return nil, errors.New("bucket index argument must be a *[3]byte")
	}
	return id[:], nil
}

func newDB() *memdb.MemDB {
	db, err := memdb.NewMemDB(&memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		bucketTable: {Name: bucketTable, Indexes: map[string]*memdb.IndexSchema{
			idIndex: {Name: idIndex, Unique: true, Indexer: bucketIndexer{}},
		}},
	}})
	if err != nil {
		panic("rewrite: invalid memdb schema: " + err.Error()) // a bug, not an input problem
	}
	return db
}

// NewTable returns an empty table; Load fills it.
func NewTable(opts Options) *Table {
	// The table writes to a non-primary memdb (MemDB.Snapshot): nothing watches it, so its write
	// transactions skip tracking watch channels. Read transactions see its commits as usual.
	t := &Table{opts: opts, seed: maphash.MakeSeed(), db: newDB().Snapshot(), files: map[string]*fileState{}, kinds: map[Kind]int{}, used: newBucketSet(), ids: newBucketIDs()}
	t.cur.Store(t.newSnapshot(0))
	return t
}

// Snapshot returns the current view of the rules. It is cheap and never waits for a load.
func (t *Table) Snapshot() *Snapshot { return t.cur.Load() }

// newSnapshot describes the table as committed; t.mu must be held.
func (t *Table) newSnapshot(parsed int) *Snapshot {
	return t.snapshotOf(t.db.Txn(false), t.files, t.counts, t.used, t.kinds, t.fp, parsed)
}

// snapshotOf is the view of a read transaction holding these files' rules.
func (t *Table) snapshotOf(txn *memdb.Txn, files map[string]*fileState, counts [numLookupKinds]int, used bucketSet, kinds map[Kind]int, fp fingerprintSum, parsed int) *Snapshot {
	st := Stats{ByKind: maps.Clone(kinds), ByFile: make(map[string]int, len(files)), FilesParsed: parsed}
	for p, f := range files {
		st.ByFile[p] = len(f.rules)
		st.Rules += len(f.rules)
	}
	st.Fingerprint = fp.String()
	return &Snapshot{txn: txn, opts: t.opts, seed: t.seed, counts: counts, used: slices.Clone(used), ids: t.ids, stats: st, files: files}
}

// Stats describes the snapshot's rules. The maps are the caller's to keep.
func (s *Snapshot) Stats() Stats {
	st := s.stats
	st.ByKind = maps.Clone(st.ByKind)
	st.ByFile = maps.Clone(st.ByFile)
	st.Notices = slices.Clone(st.Notices)
	return st
}

// keyHash hashes a lookup key: kind, local part and domain in lookup form. Two one-shot
// maphash.String calls cost a quarter of one streaming maphash.Hash.
func keyHash(seed maphash.Seed, k lookupKind, local, domain string) uint64 {
	h := maphash.String(seed, domain) ^ bits.RotateLeft64(maphash.String(seed, local), 31)
	return h + uint64(k)*0x9e3779b97f4a7c15
}
