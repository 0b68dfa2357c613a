package resolve

import (
	"encoding/binary"
	"math/bits"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// sumTable is an open-addressing hash set of package checksums. A checksum
// is already a uniform hash, so its first bytes index the table directly;
// this is several times faster than a Go map on the 200,000 checksums of a
// large index. A slot holds 32 more bits of the checksum (to skip most
// comparisons, which read the package) and an item index plus one; zero is
// empty.
type sumTable struct {
	slots []uint64
	mask  uint64
}

func newSumTable(n int) sumTable {
	size := 1 << bits.Len(uint(2*n+1))
	return sumTable{slots: make([]uint64, size), mask: uint64(size - 1)}
}

// find returns the slot of sum: the slot holding it (found), or the empty
// slot where it goes. at returns the checksum of an item.
func (t *sumTable) find(sum apk.Checksum, at func(int32) apk.Checksum) (slot int, found bool) {
	h := binary.LittleEndian.Uint64(sum.Sum[:8]) ^ uint64(sum.Kind)
	tag := uint64(binary.LittleEndian.Uint32(sum.Sum[8:12])) << 32
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		v := t.slots[i]
		if v == 0 {
			return int(i), false
		}
		if v&^0xffffffff == tag && at(t.item(int(i))) == sum {
			return int(i), true
		}
	}
}

// item returns the item index in a slot.
func (t *sumTable) item(slot int) int32 { return int32(uint32(t.slots[slot])) - 1 }

// set stores item i for sum in an empty slot found by find.
func (t *sumTable) set(slot int, sum apk.Checksum, i int32) {
	tag := uint64(binary.LittleEndian.Uint32(sum.Sum[8:12])) << 32
	t.slots[slot] = tag | uint64(uint32(i+1))
}

// remap renumbers the items: item i becomes at[i].
func (t *sumTable) remap(at []int32) {
	for i, v := range t.slots {
		if v != 0 {
			t.slots[i] = v&^0xffffffff | uint64(uint32(at[t.item(i)]+1))
		}
	}
}
