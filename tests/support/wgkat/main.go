// Emits WireGuard known-answer data from wireguard-go (Debian golang-golang.zx2c4-wireguard-dev)
// by running two real devices joined through an in-memory, recording conn.Bind: A initiates and
// sends a ping to B, B answers with one back. All protocol randomness comes from crypto/rand.Reader,
// replaced here by a seeded ChaCha20 stream, and every draw is printed in order; the initiation's
// TAI64N timestamp is the wall clock, recovered by the reader from the initiation itself.
// tests/unit/wireguard_kat_test.cc rebuilds every message from these lines. See README.md.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/curve25519"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

type detReader struct {
	mu sync.Mutex
	c  *chacha20.Cipher
	n  int
}

func (r *detReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		p[i] = 0
	}
	r.c.XORKeyStream(p, p)
	r.n++
	fmt.Printf("rand[%d] len=%d %s\n", r.n, len(p), hex.EncodeToString(p))
	return len(p), nil
}

type ep struct{ ap netip.AddrPort }

func (e ep) ClearSrc()           {}
func (e ep) SrcToString() string { return "" }
func (e ep) DstToString() string { return e.ap.String() }
func (e ep) DstToBytes() []byte  { b, _ := e.ap.MarshalBinary(); return b }
func (e ep) DstIP() netip.Addr   { return e.ap.Addr() }
func (e ep) SrcIP() netip.Addr   { return netip.Addr{} }

type pkt struct {
	b    []byte
	from netip.AddrPort
}

type memBind struct {
	name  string
	self  netip.AddrPort
	in    chan pkt
	peer  *memBind
	mu    sync.Mutex
	done  chan struct{}
	print *sync.Mutex
}

func (b *memBind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	done := make(chan struct{})
	b.done = done
	b.mu.Unlock()
	recv := func(buf []byte) (int, conn.Endpoint, error) {
		select {
		case p := <-b.in:
			return copy(buf, p.b), ep{p.from}, nil
		case <-done:
			return 0, nil, net.ErrClosed
		}
	}
	return []conn.ReceiveFunc{recv}, b.self.Port(), nil
}
func (b *memBind) Close() error {
	b.mu.Lock()
	if b.done != nil {
		close(b.done)
		b.done = nil
	}
	b.mu.Unlock()
	return nil
}
func (b *memBind) SetMark(uint32) error { return nil }
func (b *memBind) ParseEndpoint(s string) (conn.Endpoint, error) {
	ap, err := netip.ParseAddrPort(s)
	return ep{ap}, err
}
func (b *memBind) Send(buf []byte, e conn.Endpoint) error {
	c := append([]byte(nil), buf...)
	b.print.Lock()
	fmt.Printf("wire %s->%s type=%d len=%d %s\n", b.name, b.peer.name, c[0], len(c), hex.EncodeToString(c))
	b.print.Unlock()
	b.peer.in <- pkt{c, b.self}
	return nil
}

func fixedKey(seed byte) (priv, pub [32]byte) {
	for i := range priv {
		priv[i] = seed + byte(i)
	}
	priv[0] &= 248
	priv[31] = (priv[31] & 127) | 64
	p, _ := curve25519.X25519(priv[:], curve25519.Basepoint)
	copy(pub[:], p)
	return
}

// Sends pkt into one device's TUN and waits for it out of the other's.
func through(label string, from, to *tuntest.ChannelTUN, pkt []byte) {
	fmt.Printf("plaintext %s len=%d %x\n", label, len(pkt), pkt)
	from.Outbound <- pkt
	select {
	case got := <-to.Inbound:
		fmt.Printf("%s received len=%d match=%v\n", label, len(got), string(got) == string(pkt))
	case <-time.After(5 * time.Second):
		fmt.Println("timeout")
		os.Exit(1)
	}
}

func main() {
	var seed [32]byte
	c, _ := chacha20.NewUnauthenticatedCipher(seed[:], make([]byte, 12))
	rand.Reader = &detReader{c: c}

	privA, pubA := fixedKey(0x10)
	privB, pubB := fixedKey(0x40)
	var psk [32]byte
	for i := range psk {
		psk[i] = 0xa0 + byte(i)
	}
	fmt.Printf("privA %x\npubA %x\nprivB %x\npubB %x\npsk %x\n", privA, pubA, privB, pubB, psk)

	var pr sync.Mutex
	ba := &memBind{name: "A", self: netip.MustParseAddrPort("192.0.2.1:51820"), in: make(chan pkt, 64), print: &pr}
	bb := &memBind{name: "B", self: netip.MustParseAddrPort("192.0.2.2:51820"), in: make(chan pkt, 64), print: &pr}
	ba.peer, bb.peer = bb, ba
	tA, tB := tuntest.NewChannelTUN(), tuntest.NewChannelTUN()
	log := device.NewLogger(device.LogLevelError, "")
	dA := device.NewDevice(tA.TUN(), ba, log)
	dB := device.NewDevice(tB.TUN(), bb, log)
	must := func(err error) {
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	must(dA.IpcSet(fmt.Sprintf("private_key=%x\nlisten_port=51820\npublic_key=%x\npreshared_key=%x\nendpoint=192.0.2.2:51820\nallowed_ip=10.244.2.0/24\n", privA, pubB, psk)))
	must(dB.IpcSet(fmt.Sprintf("private_key=%x\nlisten_port=51820\npublic_key=%x\npreshared_key=%x\nendpoint=192.0.2.1:51820\nallowed_ip=10.244.1.0/24\n", privB, pubA, psk)))
	must(dA.Up())
	must(dB.Up())

	through("A->B", tA, tB, tuntest.Ping(netip.MustParseAddr("10.244.2.5"), netip.MustParseAddr("10.244.1.5")))
	through("B->A", tB, tA, tuntest.Ping(netip.MustParseAddr("10.244.1.5"), netip.MustParseAddr("10.244.2.5")))
	time.Sleep(200 * time.Millisecond)
	dA.Close()
	dB.Close()
}
