package torchbin

import (
	"encoding/binary"
	"fmt"
)

// scan walks a pickle's opcodes and checks that every argument, counted or
// line-ended, lies within the stream and that it ends with STOP: gopickle
// allocates the length an opcode claims before reading, so a hostile
// BINBYTES8 of 2⁶⁰ bytes must never reach it.
func scan(p []byte) error {
	i := 0
	need := func(n uint64, op byte) error {
		if n > uint64(len(p)-i) {
			return fmt.Errorf("pickle opcode %#02x at byte %d claims %d bytes, %d remain", op, i-1, n, len(p)-i)
		}
		i += int(n)
		return nil
	}
	line := func(op byte) error {
		for j := i; j < len(p); j++ {
			if p[j] == '\n' {
				i = j + 1
				return nil
			}
		}
		return fmt.Errorf("pickle opcode %#02x at byte %d: its line never ends", op, i-1)
	}
	counted := func(width int, op byte) error {
		if err := need(uint64(width), op); err != nil {
			return err
		}
		b := p[i-width : i]
		var n uint64
		switch width {
		case 1:
			n = uint64(b[0])
		case 4:
			n = uint64(binary.LittleEndian.Uint32(b))
		case 8:
			n = binary.LittleEndian.Uint64(b)
		}
		return need(n, op)
	}
	for i < len(p) {
		op := p[i]
		i++
		var err error
		switch op {
		case '.': // STOP
			if i != len(p) {
				return fmt.Errorf("pickle: %d bytes after STOP", len(p)-i)
			}
			return nil
		case '(', '0', '1', '2', 'N', 0x88, 0x89, 'R', 'b', '}', ']', ')', 't', 0x85, 0x86, 0x87,
			'l', 'd', 'a', 'e', 's', 'u', 'o', 0x81, 0x92, 'Q', 0x93, 0x94, 0x8f, 0x90, 0x91:
			// no argument
		case 'K', 'h', 'q', 0x82, 0x80: // BININT1 BINGET BINPUT EXT1 PROTO
			err = need(1, op)
		case 'M', 0x83: // BININT2 EXT2
			err = need(2, op)
		case 'J', 'j', 'r', 0x84: // BININT LONG_BINGET LONG_BINPUT EXT4
			err = need(4, op)
		case 'G': // BINFLOAT
			err = need(8, op)
		case 0x95: // FRAME: its contents are opcodes that follow
			err = need(8, op)
			if err == nil {
				if n := binary.LittleEndian.Uint64(p[i-8 : i]); n > uint64(len(p)-i) {
					err = fmt.Errorf("pickle frame at byte %d claims %d bytes, %d remain", i-9, n, len(p)-i)
				}
			}
		case 0x8a, 'U', 0x8c, 'C': // LONG1 SHORT_BINSTRING SHORT_BINUNICODE SHORT_BINBYTES
			err = counted(1, op)
		case 0x8b, 'T', 'X', 'B': // LONG4 BINSTRING BINUNICODE BINBYTES
			err = counted(4, op)
		case 0x8d, 0x8e, 0x96: // BINUNICODE8 BINBYTES8 BYTEARRAY8
			err = counted(8, op)
		case 'I', 'L', 'F', 'S', 'V', 'g', 'p', 'P': // line-ended arguments
			err = line(op)
		case 'c', 'i': // GLOBAL, INST: module and name lines
			if err = line(op); err == nil {
				err = line(op)
			}
		default:
			return fmt.Errorf("pickle: unknown or unsupported opcode %#02x at byte %d", op, i-1)
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("pickle: no STOP opcode")
}
