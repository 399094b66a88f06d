using System.Buffers.Binary;
using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Loader;
using Xunit;

namespace RunscNet.Tests.Sentry.Exec;

public class LoaderTests
{
    private static Func<long, Span<byte>, long> Reader(byte[] file) => (off, buf) =>
    {
        if (off >= file.Length) return 0;
        int n = (int)Math.Min(buf.Length, file.Length - off);
        file.AsSpan((int)off, n).CopyTo(buf);
        return n;
    };

    [Fact]
    public void ParsesADynamicHostExecutable()
    {
        var bytes = File.ReadAllBytes("/bin/ls");
        Assert.Equal(0, ElfFile.Parse(Reader(bytes), out var elf));
        Assert.Equal(ElfFile.ET_DYN, elf!.Type);
        Assert.Equal("/lib64/ld-linux-x86-64.so.2", elf.Interpreter);
        Assert.NotEmpty(elf.Loads);
        var (low, high) = elf.Span();
        Assert.True(high > low);
        Assert.NotEqual(0UL, elf.PhdrVaddr());
    }

    [Fact]
    public void ParsesTheStubImageAsStatic()
    {
        var bytes = RunscNet.Sentry.Platform.StubImage.Build();
        Assert.Equal(0, ElfFile.Parse(Reader(bytes), out var elf));
        Assert.Equal(ElfFile.ET_EXEC, elf!.Type);
        Assert.Null(elf.Interpreter);
        Assert.Equal(RunscNet.Sentry.Platform.StubImage.EntryAddress, elf.Entry);
        var load = Assert.Single(elf.Loads);
        Assert.Equal(5, load.Prot);   // r-x
    }

    [Theory]
    [InlineData("not an elf at all, just text")]
    [InlineData("\u007fELF")]
    public void RejectsNonElfWithEnoexec(string content)
    {
        Assert.Equal(-Errno.ENOEXEC, ElfFile.Parse(Reader(Encoding.ASCII.GetBytes(content.PadRight(80, ' '))), out _));
    }

    [Fact]
    public void RejectsOtherMachines()
    {
        var bytes = RunscNet.Sentry.Platform.StubImage.Build();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(18), 183);   // EM_AARCH64
        Assert.Equal(-Errno.ENOEXEC, ElfFile.Parse(Reader(bytes), out _));
        bytes = RunscNet.Sentry.Platform.StubImage.Build();
        bytes[4] = 1;   // ELFCLASS32
        Assert.Equal(-Errno.ENOEXEC, ElfFile.Parse(Reader(bytes), out _));
    }

    [Theory]
    [InlineData("#!/bin/sh\necho", "/bin/sh", null)]
    [InlineData("#! /bin/sh -e -x \n", "/bin/sh", "-e -x")]
    [InlineData("#!/usr/bin/env\tpython3\n", "/usr/bin/env", "python3")]
    public void ParsesShebangLines(string head, string interp, string? arg)
    {
        Assert.Equal(0, ExecLoader.ParseShebang(Encoding.ASCII.GetBytes(head), out var i, out var a));
        Assert.Equal(interp, i);
        Assert.Equal(arg, a);
    }

    [Fact]
    public void EmptyShebangIsEnoexec()
    {
        Assert.Equal(-Errno.ENOEXEC, ExecLoader.ParseShebang(Encoding.ASCII.GetBytes("#!   \n"), out _, out _));
    }

    [Fact]
    public void InitialStackHasLinuxLayout()
    {
        const ulong top = 0x7fff_0000_0000;
        var argv = new[] { "/bin/prog", "arg1" };
        var envp = new[] { "A=1" };
        var aux = new List<(ulong, ulong)> { (AuxType.AT_PAGESZ, 4096), (AuxType.AT_ENTRY, 0x401000) };
        var random = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var st = InitialStack.Build(top, argv, envp, "/bin/prog", aux, random);

        Assert.Equal(0UL, st.StackPointer % 16);
        Assert.Equal(top, st.Bottom + (ulong)st.Bytes.Length);
        ulong Word(ulong addr) => BinaryPrimitives.ReadUInt64LittleEndian(st.Bytes.AsSpan((int)(addr - st.Bottom)));
        string Str(ulong addr)
        {
            int o = (int)(addr - st.Bottom);
            int end = Array.IndexOf(st.Bytes, (byte)0, o);
            return Encoding.UTF8.GetString(st.Bytes, o, end - o);
        }
        ulong sp = st.StackPointer;
        Assert.Equal(2UL, Word(sp));
        Assert.Equal("/bin/prog", Str(Word(sp + 8)));
        Assert.Equal("arg1", Str(Word(sp + 16)));
        Assert.Equal(0UL, Word(sp + 24));
        Assert.Equal("A=1", Str(Word(sp + 32)));
        Assert.Equal(0UL, Word(sp + 40));
        var auxv = new Dictionary<ulong, ulong>();
        for (ulong at = sp + 48; ; at += 16)
        {
            ulong type = Word(at);
            if (type == AuxType.AT_NULL) break;
            auxv[type] = Word(at + 8);
        }
        Assert.Equal(4096UL, auxv[AuxType.AT_PAGESZ]);
        Assert.Equal(0x401000UL, auxv[AuxType.AT_ENTRY]);
        Assert.Equal("/bin/prog", Str(auxv[AuxType.AT_EXECFN]));
        Assert.Equal("x86_64", Str(auxv[AuxType.AT_PLATFORM]));
        Assert.Equal(random, st.Bytes.AsSpan((int)(auxv[AuxType.AT_RANDOM] - st.Bottom), 16).ToArray());
        Assert.Equal("/bin/prog", Str(st.ArgStart));
        Assert.Equal("A=1", Str(st.EnvStart));
        Assert.Equal(st.Auxv.Length, (auxv.Count + 1) * 16);
    }
}
