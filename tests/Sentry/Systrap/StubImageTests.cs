using RunscNet.Sentry.Platform.Systrap;
using Xunit;

namespace RunscNet.Tests.Sentry.Systrap;

public class StubImageTests
{
    [Fact]
    public void ImageIsOnePageElfWithEntryAndHandlerInsideTheCode()
    {
        byte[] image = SystrapStub.Build();
        Assert.Equal(4096, image.Length);
        Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, image[..4]);
        Assert.Equal(SystrapStub.EntryAddress, BitConverter.ToUInt64(image, 24));
        Assert.InRange(SystrapStub.HandlerAddress, SystrapStub.EntryAddress, SystrapStub.CodeEnd - 1);
        Assert.InRange(SystrapStub.RestorerAddress, SystrapStub.EntryAddress, SystrapStub.CodeEnd - 1);
        // The restorer is "mov eax, 15; syscall" and the ready point follows an int3.
        int restorer = (int)(SystrapStub.RestorerAddress - SystrapStub.Base);
        Assert.Equal(new byte[] { 0xb8, 15, 0, 0, 0, 0x0f, 0x05 }, image[restorer..(restorer + 7)]);
        Assert.Equal(0xcc, image[(int)(SystrapStub.ReadyAddress - SystrapStub.Base) - 1]);
    }

    [Fact]
    public void FilterJumpsStayInsideTheProgramAndEndInReturns()
    {
        byte[] f = StubSeccompFilter.Build(SystrapStub.Base, SystrapStub.CodeEnd);
        int n = f.Length / 8;
        Assert.InRange(n, 10, 255);
        for (int i = 0; i < n; i++)
        {
            ushort code = BitConverter.ToUInt16(f, i * 8);
            if ((code & 7) == 5)   // BPF_JMP
            {
                Assert.InRange(i + 1 + f[i * 8 + 2], 0, n - 1);
                Assert.InRange(i + 1 + f[i * 8 + 3], 0, n - 1);
            }
        }
        Assert.Equal(6, BitConverter.ToUInt16(f, (n - 1) * 8) & 7);   // last is BPF_RET
    }
}
