using System.Text;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Loader;

/// <summary>What execve resolved before touching any address space.</summary>
internal sealed class ExecImage
{
    /// <summary>The ELF executable (after #! resolution).</summary>
    public required FileDescription File { get; init; }
    /// <summary>Its parsed header.</summary>
    public required ElfFile Elf { get; init; }
    /// <summary>Absolute path of the executable (/proc/pid/exe).</summary>
    public required string ResolvedPath { get; init; }
    /// <summary>The dynamic linker, for PT_INTERP binaries.</summary>
    public FileDescription? InterpreterFile { get; init; }
    /// <summary>The dynamic linker's header.</summary>
    public ElfFile? InterpreterElf { get; init; }
    /// <summary>Final argv (interpreter lines of scripts prepended).</summary>
    public required List<string> Argv { get; init; }
    /// <summary>The environment.</summary>
    public required List<string> Envp { get; init; }
    /// <summary>The caller's credentials once the exec completes (set-ID bits and capability rules applied).</summary>
    public Kernel.Credentials? NewCredentials { get; set; }
    /// <summary>AT_SECURE: the exec changed IDs or raised capabilities (the C library's secure mode).</summary>
    public bool Secure { get; set; }
    /// <summary>The file name passed to execve (AT_EXECFN, comm).</summary>
    public required string ExecFn { get; init; }
}

/// <summary>
/// The Sentry's execve: resolves <c>#!</c> scripts (at most 4 levels, then ELOOP), parses the ELF
/// and its PT_INTERP, maps them into a fresh address space (non-PIE at their addresses, PIE
/// executables near 0x555555554000, the interpreter where the host puts it), and builds the stack.
/// </summary>
internal static class ExecLoader
{
    /// <summary>Maximum interpreter nesting (Linux's BINPRM_MAX_RECURSION).</summary>
    public const int MaxScriptDepth = 4;
    /// <summary>Size of the main thread's stack mapping.</summary>
    public const ulong StackSize = 8UL << 20;
    /// <summary>Where position-independent executables go (Linux's ELF_ET_DYN_BASE on x86-64).</summary>
    public const ulong PieBase = 0x5555_5555_4000;

    /// <summary>Resolves <paramref name="path"/> to an ELF image to load. Returns 0 or -errno.</summary>
    public static int Prepare(Task t, string path, List<string> argv, List<string> envp, out ExecImage? image)
    {
        image = null;
        string execFn = path;
        for (int depth = 0; depth <= MaxScriptDepth; depth++)
        {
            int err = t.Kernel.OpenExecutable(t, path, out var file, out string resolved);
            if (err < 0) return err;
            var head = new byte[256];
            long n = file!.PRead(t, head, 0);
            if (n < 0)
            {
                file.DecRef();
                return (int)n;
            }
            if (n >= 2 && head[0] == '#' && head[1] == '!')
            {
                file.DecRef();
                err = ParseShebang(head.AsSpan(0, (int)n), out string interp, out string? arg);
                if (err < 0) return err;
                var newArgv = new List<string> { interp };
                if (arg != null) newArgv.Add(arg);
                newArgv.Add(path);
                newArgv.AddRange(argv.Skip(1));
                argv = newArgv;
                path = interp;
                continue;
            }
            err = ElfFile.Parse((off, buf) => file.PRead(t, buf, off), out var elf);
            if (err < 0)
            {
                file.DecRef();
                return err;
            }
            FileDescription? interpFile = null;
            ElfFile? interpElf = null;
            if (elf!.Interpreter is { } ip)
            {
                err = t.Kernel.OpenInterpreter(t, ip, out interpFile, out _);
                if (err == 0)
                {
                    err = ElfFile.Parse((off, buf) => interpFile!.PRead(t, buf, off), out interpElf);
                    if (err == 0 && interpElf!.Interpreter != null) err = -Errno.ELIBBAD;
                    if (err < 0) interpFile!.DecRef();
                }
                if (err < 0)
                {
                    file.DecRef();
                    return err;
                }
            }
            image = new ExecImage
            {
                File = file, Elf = elf, ResolvedPath = resolved, InterpreterFile = interpFile, InterpreterElf = interpElf,
                Argv = argv, Envp = envp, ExecFn = execFn,
            };
            return 0;
        }
        return -Errno.ELOOP;
    }

    /// <summary>
    /// Parses a <c>#!</c> line: the interpreter path and at most one argument (the rest of the
    /// line, trimmed), as Linux does. ENOEXEC for an empty interpreter or no newline in 256 bytes.
    /// </summary>
    public static int ParseShebang(ReadOnlySpan<byte> head, out string interpreter, out string? argument)
    {
        interpreter = "";
        argument = null;
        int nl = head.IndexOf((byte)'\n');
        if (nl < 0)
        {
            if (head.Length >= 256) return -Errno.ENOEXEC;
            nl = head.Length;
        }
        string line = Memory.LinuxText.Decode(head[2..nl]).Trim(' ', '\t', '\r');
        if (line.Length == 0) return -Errno.ENOEXEC;
        int sp = line.IndexOfAny(new[] { ' ', '\t' });
        if (sp < 0)
        {
            interpreter = line;
            return 0;
        }
        interpreter = line[..sp];
        string rest = line[sp..].Trim(' ', '\t');
        if (rest.Length > 0) argument = rest;
        return 0;
    }

    private const int MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;

    /// <summary>
    /// Maps <paramref name="image"/> into the fresh address space <paramref name="mm"/> and builds
    /// the initial stack; <paramref name="regs"/> receives the start registers. Returns 0 or -errno.
    /// </summary>
    public static int Build(Task t, ExecImage image, AddressSpace mm, out Registers regs)
    {
        var ctx = mm.Context;
        regs = ctx.Regs;
        long r = MapElf(t, mm, image.Elf, image.File, PieBase, out ulong bias, out ulong end);
        if (r < 0) return (int)r;
        ulong entry = image.Elf.Entry + bias;
        ulong phdr = image.Elf.PhdrVaddr() + bias;
        ulong interpBase = 0;
        ulong start = entry;
        if (image.InterpreterElf is { } ie)
        {
            r = MapElf(t, mm, ie, image.InterpreterFile!, 0, out interpBase, out _);
            if (r < 0) return (int)r;
            start = ie.Entry + interpBase;
        }
        mm.BrkStart = mm.Brk = end;

        long stack = mm.Map(null, 0, StackSize, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, null, 0, "[stack]");
        if (stack < 0) return (int)stack;
        ulong top = (ulong)stack + StackSize;

        var creds = image.NewCredentials ?? t.Credentials;
        var aux = new List<(ulong, ulong)>();
        if (ctx.VdsoBase != 0) aux.Add((AuxType.AT_SYSINFO_EHDR, ctx.VdsoBase));
        aux.Add((AuxType.AT_MINSIGSTKSZ, 2048));
        aux.Add((AuxType.AT_HWCAP, HostIo.GetAuxVal(AuxType.AT_HWCAP)));
        aux.Add((AuxType.AT_PAGESZ, 4096));
        aux.Add((AuxType.AT_CLKTCK, 100));
        aux.Add((AuxType.AT_PHDR, phdr));
        aux.Add((AuxType.AT_PHENT, 56));
        aux.Add((AuxType.AT_PHNUM, (ulong)image.Elf.Headers.Count));
        aux.Add((AuxType.AT_BASE, interpBase));
        aux.Add((AuxType.AT_FLAGS, 0));
        aux.Add((AuxType.AT_ENTRY, entry));
        aux.Add((AuxType.AT_UID, creds.Uid));
        aux.Add((AuxType.AT_EUID, creds.Euid));
        aux.Add((AuxType.AT_GID, creds.Gid));
        aux.Add((AuxType.AT_EGID, creds.Egid));
        aux.Add((AuxType.AT_SECURE, image.Secure ? 1UL : 0));
        aux.Add((AuxType.AT_HWCAP2, HostIo.GetAuxVal(AuxType.AT_HWCAP2)));
        Span<byte> random = stackalloc byte[16];
        Interop.HostRandom.Fill(random);
        var st = InitialStack.Build(top, image.Argv, image.Envp, image.ExecFn, aux, random);
        if (ctx.Memory.CopyOut(st.Bottom, st.Bytes) != 0) return -Errno.EFAULT;
        mm.ArgRanges = (st.ArgStart, st.ArgEnd, st.EnvStart, st.EnvEnd);
        mm.Auxv = st.Auxv;
        mm.ExecutablePath = image.ResolvedPath;

        regs.Rax = regs.Rbx = regs.Rcx = regs.Rdx = regs.Rsi = regs.Rdi = regs.Rbp = 0;
        regs.R8 = regs.R9 = regs.R10 = regs.R11 = regs.R12 = regs.R13 = regs.R14 = regs.R15 = 0;
        regs.OrigRax = ulong.MaxValue;
        regs.Rip = start;
        regs.Rsp = st.StackPointer;
        regs.Eflags = 0x202;
        regs.FsBase = regs.GsBase = 0;
        return 0;
    }

    /// <summary>Maps the PT_LOAD segments of <paramref name="elf"/>; returns 0 or -errno, the load bias and the end of the image.</summary>
    private static long MapElf(Task t, AddressSpace mm, ElfFile elf, FileDescription file, ulong pieHint,
        out ulong bias, out ulong end)
    {
        bias = 0;
        end = 0;
        var (low, high) = elf.Span();
        if (elf.Type == ElfFile.ET_DYN)
        {
            // Reserve the whole span so the segments keep their relative layout.
            long at = mm.Map(null, pieHint, high - low, 0, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, null, 0);
            if (at < 0) return at;
            bias = (ulong)at - low;
        }
        foreach (var p in elf.Loads)
        {
            ulong pageOff = p.Vaddr & 0xfff;
            ulong segStart = (p.Vaddr & ~0xfffUL) + bias;
            ulong segEnd = AddressSpace.PageUp(p.Vaddr + p.MemSize) + bias;
            if (p.Offset < pageOff) return -Errno.ENOEXEC;
            // As Linux's ELF loader: the file's pages (up to the page holding the end of p_filesz)
            // are a private file mapping, which the host maps from the file when it can (nothing
            // copied); the bytes after p_filesz in that page are zeroed when a bss follows, and the
            // bss's further pages are anonymous. A bss in a segment we cannot write keeps the old
            // way: the whole segment copied in, zero tail included.
            ulong fileEnd = pageOff + p.FileSize;
            ulong filePart = Math.Min(AddressSpace.PageUp(fileEnd), segEnd - segStart);
            bool bss = p.MemSize > p.FileSize;
            if (bss && (p.Prot & 2) == 0 && (fileEnd & 0xfff) != 0)
            {
                long copied = mm.Map(t, segStart, segEnd - segStart, p.Prot, MAP_PRIVATE | MAP_FIXED, file, p.Offset - pageOff,
                    null, fileEnd);
                if (copied < 0) return copied;
            }
            else
            {
                if (filePart > 0)
                {
                    long r = mm.Map(t, segStart, filePart, p.Prot, MAP_PRIVATE | MAP_FIXED, file, p.Offset - pageOff);
                    if (r < 0) return r;
                    if (bss && filePart > fileEnd)
                    {
                        var zeros = new byte[filePart - fileEnd];
                        if (mm.Context.Memory.CopyOut(segStart + fileEnd, zeros) != 0) return -Errno.EFAULT;
                    }
                }
                if (segEnd - segStart > filePart)
                {
                    long r = mm.Map(t, segStart + filePart, segEnd - segStart - filePart, p.Prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS,
                        null, 0);
                    if (r < 0) return r;
                }
            }
            end = Math.Max(end, segEnd);
        }
        return 0;
    }
}
