using System.Buffers.Binary;

namespace RunscNet.Sentry.Kernel.Seccomp;

/// <summary>
/// A classic BPF program given to seccomp(2) (struct sock_filter[]: u16 code, u8 jt, u8 jf, u32 k),
/// checked as Linux's bpf_check_classic and seccomp_check_filter check it (only the opcodes
/// seccomp allows, loads of seccomp_data words only, jumps forward and inside the program, no
/// division by a constant 0, no shift of 32 or more, no read of a scratch word before a store,
/// a return at the end) and then interpreted. The program comes from the application: it is
/// validated once, and running it cannot leave the program or the 16 scratch words.
/// </summary>
internal sealed class BpfFilter : ISeccompFilter
{
    /// <summary>BPF_MAXINSNS.</summary>
    public const int MaxInstructions = 4096;

    private const int MemWords = 16;

    private readonly ushort[] _code;
    private readonly byte[] _jt, _jf;
    private readonly uint[] _k;

    /// <inheritdoc/>
    public int Length => _code.Length;

    /// <inheritdoc/>
    public bool Log { get; }

    private BpfFilter(ushort[] code, byte[] jt, byte[] jf, uint[] k, bool log)
    {
        _code = code; _jt = jt; _jf = jf; _k = k; Log = log;
    }

    // Opcodes seccomp accepts (class | size/op | source).
    private const ushort LdWAbs = 0x20, LdWLen = 0x80, LdxWLen = 0x81, LdImm = 0x00, LdxImm = 0x01, LdMem = 0x60, LdxMem = 0x61,
        St = 0x02, Stx = 0x03, Tax = 0x07, Txa = 0x87, RetK = 0x06, RetA = 0x16, Ja = 0x05, Neg = 0x84;

    /// <summary>
    /// Parses and checks <paramref name="raw"/> (8 bytes per instruction). Returns null with
    /// <paramref name="errno"/> EINVAL when Linux would refuse the program.
    /// </summary>
    public static BpfFilter? Parse(ReadOnlySpan<byte> raw, bool log, out int errno)
    {
        errno = Errno.EINVAL;
        int n = raw.Length / 8;
        if (n == 0 || n > MaxInstructions || raw.Length % 8 != 0) return null;
        var code = new ushort[n]; var jt = new byte[n]; var jf = new byte[n]; var k = new uint[n];
        for (int i = 0; i < n; i++)
        {
            var ins = raw.Slice(i * 8, 8);
            code[i] = BinaryPrimitives.ReadUInt16LittleEndian(ins);
            jt[i] = ins[2];
            jf[i] = ins[3];
            k[i] = BinaryPrimitives.ReadUInt32LittleEndian(ins[4..]);
        }
        for (int pc = 0; pc < n; pc++)
        {
            if (!ValidInstruction(code[pc], k[pc])) return null;
            switch (code[pc] & 0x07)
            {
                case 0x05: // BPF_JMP: targets inside the program
                    if (code[pc] == Ja) { if ((ulong)k[pc] >= (ulong)(n - pc - 1)) return null; }
                    else if (pc + 1 + jt[pc] >= n || pc + 1 + jf[pc] >= n) return null;
                    break;
            }
        }
        if ((code[n - 1] & 0x07) != 0x06) return null;   // must end in BPF_RET
        if (!ScratchWordsStoredBeforeLoaded(code, jt, jf, k)) return null;
        errno = 0;
        return new BpfFilter(code, jt, jf, k, log);
    }

    private static bool ValidInstruction(ushort code, uint k)
    {
        switch (code)
        {
            case LdWAbs: return k % 4 == 0 && k < SeccompData.Size;
            case LdWLen: case LdxWLen: case LdImm: case LdxImm: case Tax: case Txa: case RetK: case RetA: case Ja: case Neg:
                return true;
            case LdMem: case LdxMem: case St: case Stx: return k < MemWords;
        }
        if ((code & 0x07) == 0x04)   // BPF_ALU
        {
            int op = code & 0xf0;
            bool srcX = (code & 0x08) != 0;
            if ((code & ~0xf8) != 0x04) return false;
            switch (op)
            {
                case 0x00: case 0x10: case 0x20: case 0x40: case 0x50: case 0xa0: return true;   // add sub mul or and xor
                case 0x30: return srcX || k != 0;                                                   // div
                case 0x60: case 0x70: return srcX || k < 32;                                        // lsh rsh
                default: return false;                                                              // mod, neg-with-src
            }
        }
        if ((code & 0x07) == 0x05)   // BPF_JMP conditional
        {
            if ((code & ~0xf8) != 0x05) return false;
            return (code & 0xf0) is 0x10 or 0x20 or 0x30 or 0x40;   // jeq jgt jge jset
        }
        return false;
    }

    /// <summary>As Linux's check_load_and_stores: along every path, a scratch word is stored before it is loaded.</summary>
    private static bool ScratchWordsStoredBeforeLoaded(ushort[] code, byte[] jt, byte[] jf, uint[] k)
    {
        int n = code.Length;
        var valid = new ushort[n];
        Array.Fill(valid, (ushort)0xffff);
        ushort mem = 0;
        for (int pc = 0; pc < n; pc++)
        {
            mem &= valid[pc];
            switch (code[pc])
            {
                case St: case Stx: mem |= (ushort)(1 << (int)k[pc]); break;
                case LdMem: case LdxMem: if ((mem & (1 << (int)k[pc])) == 0) return false; break;
                case Ja:
                    valid[pc + 1 + k[pc]] &= mem;
                    mem = 0xffff;
                    break;
                default:
                    if ((code[pc] & 0x07) == 0x05)
                    {
                        valid[pc + 1 + jt[pc]] &= mem;
                        valid[pc + 1 + jf[pc]] &= mem;
                        mem = 0xffff;
                    }
                    break;
            }
        }
        return true;
    }

    /// <inheritdoc/>
    public uint Evaluate(in SeccompData data)
    {
        uint a = 0, x = 0;
        Span<uint> m = stackalloc uint[MemWords];
        int pc = 0;
        // Jumps only go forward (checked at parse time), so this ends within Length steps.
        while (true)
        {
            ushort c = _code[pc];
            uint k = _k[pc];
            switch (c)
            {
                case LdWAbs: a = data.Word(k); break;
                case LdWLen: a = SeccompData.Size; break;
                case LdxWLen: x = SeccompData.Size; break;
                case LdImm: a = k; break;
                case LdxImm: x = k; break;
                case LdMem: a = m[(int)k]; break;
                case LdxMem: x = m[(int)k]; break;
                case St: m[(int)k] = a; break;
                case Stx: m[(int)k] = x; break;
                case Tax: x = a; break;
                case Txa: a = x; break;
                case RetK: return k;
                case RetA: return a;
                case Ja: pc += (int)k; break;
                case Neg: a = unchecked(0u - a); break;
                default:
                    uint src = (c & 0x08) != 0 ? x : k;
                    if ((c & 0x07) == 0x04)
                    {
                        switch (c & 0xf0)
                        {
                            case 0x00: a = unchecked(a + src); break;
                            case 0x10: a = unchecked(a - src); break;
                            case 0x20: a = unchecked(a * src); break;
                            case 0x30: if (src == 0) return 0; a /= src; break;   // division by X = 0 ends the program with 0
                            case 0x40: a |= src; break;
                            case 0x50: a &= src; break;
                            case 0xa0: a ^= src; break;
                            case 0x60: a = src >= 32 ? 0 : a << (int)src; break;
                            case 0x70: a = src >= 32 ? 0 : a >> (int)src; break;
                        }
                    }
                    else
                    {
                        bool taken = (c & 0xf0) switch
                        {
                            0x10 => a == src,
                            0x20 => a > src,
                            0x30 => a >= src,
                            _ => (a & src) != 0,
                        };
                        pc += taken ? _jt[pc] : _jf[pc];
                    }
                    break;
            }
            pc++;
        }
    }
}
