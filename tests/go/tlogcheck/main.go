// tlogcheck checks the gateway's log with Go's own transparency-log code
// (golang.org/x/mod/sumdb/note and sumdb/tlog, Debian's golang-golang-x-mod-dev), not ours:
// the checkpoint's note signature, the tiles (every hash Go reads is checked against the
// signed root), an entry's inclusion (the proof Go derives from the tiles and the one the
// gateway's API served) and the consistency of an older checkpoint with the newer one.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run main.go \
//	    -url http://127.0.0.1:8080 -vkey <note_verifier_key> -index 3 \
//	    [-inclusion b64,b64,...] [-old old-checkpoint.txt] [-consistency b64,b64,...]
package main

import (
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base string

func fetch(path string) []byte {
	resp, err := http.Get(base + path)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		fail("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return data
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL "+format+"\n", args...)
	os.Exit(1)
}

// tiles: C2SP tlog-tiles paths are Go's without the height segment ("tile/8/" -> "tile/").
type tiles struct{}

func (tiles) Height() int { return 8 }

func (tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = fetch("/log/" + strings.Replace(t.Path(), "tile/8/", "tile/", 1))
	}
	return out, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func checkpoint(msg []byte, verifier note.Verifier) (origin string, tree tlog.Tree) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint text: %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root: %v", err)
	}
	var h tlog.Hash
	copy(h[:], root)
	return lines[0], tlog.Tree{N: size, Hash: h}
}

func hashes(list string) []tlog.Hash {
	var out []tlog.Hash
	for _, item := range strings.Split(list, ",") {
		if item == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(item)
		if err != nil || len(raw) != tlog.HashSize {
			fail("hash %q: %v", item, err)
		}
		var h tlog.Hash
		copy(h[:], raw)
		out = append(out, h)
	}
	return out
}

func main() {
	url := flag.String("url", "", "the gateway's base URL")
	vkey := flag.String("vkey", "", "the log's note verifier key")
	index := flag.Int64("index", 0, "an entry to prove")
	inclusion := flag.String("inclusion", "", "the gateway's inclusion proof of -index (base64, comma-separated)")
	old := flag.String("old", "", "a file holding an older checkpoint")
	consistency := flag.String("consistency", "", "the gateway's consistency proof from -old (base64, comma-separated)")
	flag.Parse()
	base = *url
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	origin, tree := checkpoint(fetch("/log/checkpoint"), verifier)
	fmt.Printf("ok checkpoint %s %d\n", origin, tree.N)
	reader := tlog.TileHashReader(tree, tiles{})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil || root != tree.Hash {
		fail("tlog.TreeHash from the tiles: %v", err)
	}
	fmt.Println("ok tiles")
	// the entry, from its entry bundle, hashed by Go as an RFC 6962 leaf
	bundleTile := tlog.Tile{H: 8, L: 0, N: *index / 256, W: 256}
	if rest := tree.N - bundleTile.N*256; rest < 256 {
		bundleTile.W = int(rest)
	}
	path := strings.Replace(bundleTile.Path(), "tile/8/0/", "tile/entries/", 1)
	bundle := fetch("/log/" + path)
	var entry []byte
	for i := int64(0); i <= *index%256; i++ {
		if len(bundle) < 2 {
			fail("entry bundle too short")
		}
		size := int(binary.BigEndian.Uint16(bundle))
		entry, bundle = bundle[2:2+size], bundle[2+size:]
	}
	leaf := tlog.RecordHash(entry)
	proof, err := tlog.ProveRecord(tree.N, *index, reader)
	if err != nil {
		fail("tlog.ProveRecord: %v", err)
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, *index, leaf); err != nil {
		fail("tlog.CheckRecord (Go's proof): %v", err)
	}
	if *inclusion != "" {
		if err := tlog.CheckRecord(hashes(*inclusion), tree.N, tree.Hash, *index, leaf); err != nil {
			fail("tlog.CheckRecord (the gateway's proof): %v", err)
		}
	}
	fmt.Printf("ok inclusion %d %s\n", *index, entry)
	if *old != "" {
		msg, err := os.ReadFile(*old)
		if err != nil {
			fail("%v", err)
		}
		oldOrigin, oldTree := checkpoint(msg, verifier)
		if oldOrigin != origin {
			fail("origins differ: %s %s", oldOrigin, origin)
		}
		treeProof, err := tlog.ProveTree(tree.N, oldTree.N, reader)
		if err != nil {
			fail("tlog.ProveTree: %v", err)
		}
		if err := tlog.CheckTree(treeProof, tree.N, tree.Hash, oldTree.N, oldTree.Hash); err != nil {
			fail("tlog.CheckTree (Go's proof): %v", err)
		}
		if *consistency != "" {
			if err := tlog.CheckTree(hashes(*consistency), tree.N, tree.Hash, oldTree.N, oldTree.Hash); err != nil {
				fail("tlog.CheckTree (the gateway's proof): %v", err)
			}
		}
		fmt.Printf("ok consistency %d %d\n", oldTree.N, tree.N)
	}
}
