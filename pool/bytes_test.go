package pool_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-compendium/compendium/pool"
)

func TestBytesGet(t *testing.T) {
	cases := []struct {
		n, cap int
		miss   bool
	}{
		{0, 512, true},
		{1, 512, true},
		{512, 512, true},
		{513, 1024, true},
		{3000, 4096, true},
		{1 << 20, 1 << 20, true},
		{4 << 20, 4 << 20, true},
		{4<<20 + 1, 4<<20 + 1, true}, // over the largest class: exact size
	}
	for _, c := range cases {
		bs := pool.NewBytes(1)
		b := bs.Get(c.n)
		assert.Len(t, b, c.n, "Get(%d)", c.n)
		assert.Equal(t, c.cap, cap(b), "cap(Get(%d))", c.n)
		st := bs.Stats()
		assert.Equal(t, pool.RecyclerStats{Gets: 1, Misses: 1}, st, "Get(%d)", c.n)
	}
}

func TestBytesReuseAcrossLengths(t *testing.T) {
	bs := pool.NewBytes(2)
	b := bs.Get(1000)
	b[0] = 7
	bs.Put(b)
	c := bs.Get(700)
	assert.Len(t, c, 700)
	assert.Equal(t, 1024, cap(c))
	assert.Same(t, &b[0], &c[0], "Get(700) reuses the 1 KiB array Put by Get(1000)'s caller")
	assert.Equal(t, byte(7), c[0], "Get does not clear")
	d := bs.Get(2000)
	assert.Equal(t, 2048, cap(d), "another class: a new array")
	st := bs.Stats()
	assert.Equal(t, pool.RecyclerStats{Gets: 3, Hits: 1, Misses: 2, Puts: 1, Kept: 1}, st)
	checkStats(t, st)
}

func TestBytesPut(t *testing.T) {
	cases := []struct {
		name string
		buf  []byte
		kept bool
	}{
		{"nil", nil, false},
		{"empty", []byte{}, false},
		{"cap 100", make([]byte, 100), false},
		{"cap 256, a power of two under the smallest class", make([]byte, 256), false},
		{"cap 1000", make([]byte, 10, 1000), false},
		{"cap 8 MiB, over the largest class", make([]byte, 0, 8<<20), false},
		{"cap 4 MiB + 1", make([]byte, 0, 4<<20+1), false},
		{"cap 512", make([]byte, 3, 512), true},
		{"cap 1 KiB, len 0", make([]byte, 0, 1024), true},
		{"cap 4 MiB", make([]byte, 0, 4<<20), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bs := pool.NewBytes(1)
			bs.Put(c.buf)
			st := bs.Stats()
			if c.kept {
				assert.Equal(t, pool.RecyclerStats{Puts: 1, Kept: 1, Idle: 1}, st)
				got := bs.Get(cap(c.buf))
				assert.Same(t, &c.buf[:1][0], &got[0], "Get returns the array Put")
			} else {
				assert.Equal(t, pool.RecyclerStats{Puts: 1, Rejected: 1}, st)
			}
		})
	}
}

func TestBytesBoundPerClass(t *testing.T) {
	bs := pool.NewBytes(2)
	for range 3 {
		bs.Put(make([]byte, 512))
		bs.Put(make([]byte, 1024))
	}
	st := bs.Stats()
	assert.Equal(t, uint64(4), st.Idle, "two per class")
	assert.Equal(t, uint64(2), st.Dropped)
	checkStats(t, st)
}

// FuzzBytesGet checks Get's length and capacity, and that Put takes back
// what Get gave, for any length.
func FuzzBytesGet(f *testing.F) {
	for _, n := range []int{0, 1, 511, 512, 513, 4095, 4096, 65537, 4 << 20, 4<<20 + 1} {
		f.Add(n)
	}
	bs := pool.NewBytes(1)
	f.Fuzz(func(t *testing.T, n int) {
		if n < 0 || n > 8<<20 {
			t.Skip()
		}
		b := bs.Get(n)
		if len(b) != n || cap(b) < n {
			t.Fatalf("Get(%d): len %d, cap %d", n, len(b), cap(b))
		}
		c := cap(b)
		class := c >= 512 && c <= 4<<20 && c&(c-1) == 0
		if class && c/2 >= max(n, 512) {
			t.Fatalf("Get(%d): cap %d, not the smallest class", n, c)
		}
		if !class && n <= 4<<20 {
			t.Fatalf("Get(%d): cap %d, not a class size", n, c)
		}
		before := bs.Stats()
		bs.Put(b)
		after := bs.Stats()
		if class != (after.Rejected == before.Rejected) {
			t.Fatalf("Put(Get(%d)) with cap %d: rejects %d -> %d", n, c, before.Rejected, after.Rejected)
		}
	})
}

// TestBytesNoSharing has goroutines Get slices of several classes, fill
// them with their id, and check them before Put: no slice is handed to
// two goroutines at once, whatever its class.
func TestBytesNoSharing(t *testing.T) {
	const goroutines, ops = 16, 500
	bs := pool.NewBytes(4)
	hammer(t, goroutines, ops, func(id, i int) string {
		b := bs.Get(100 << (i % 6)) // 100 B to 3.2 KiB: four classes
		defer bs.Put(b)
		for j := range b {
			b[j] = byte(id)
		}
		for j := range b {
			if b[j] != byte(id) {
				return fmt.Sprintf("goroutine %d found %d in its slice", id, b[j])
			}
		}
		return ""
	})
	st := bs.Stats()
	assert.Equal(t, uint64(goroutines*ops), st.Gets)
	checkStats(t, st)
}
