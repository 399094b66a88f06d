using RunscNet.Runtime.Logging;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Cgroups;

/// <summary>
/// linux.resources on cgroup v2 (Documentation/admin-guide/cgroup-v2.rst), converted as runc's
/// fs2 driver converts the v1-shaped spec. What v2 has no file for is refused (real-time
/// bandwidth, leaf weights, net_cls/net_prio) or, for the deprecated kernel-memory fields,
/// warned about and ignored.
/// </summary>
public sealed partial class Cgroup
{
    private void ApplyV2(Resources r)
    {
        string dir = _dirs[0].Dir;
        if (!string.IsNullOrEmpty(r.Cpu?.Cpus)) Write(dir + "/cpuset.cpus", r.Cpu.Cpus);
        if (!string.IsNullOrEmpty(r.Cpu?.Mems)) Write(dir + "/cpuset.mems", r.Cpu.Mems);
        if (r.Cpu?.RealtimePeriod is not (null or 0) || r.Cpu?.RealtimeRuntime is not (null or 0))
            throw new RuntimeError("cannot set linux.resources.cpu.realtimePeriod/realtimeRuntime: cgroup v2 has no real-time bandwidth control");
        if (r.Cpu?.Shares is ulong shares && shares > 0)
            Write(dir + "/cpu.weight", N(Math.Clamp(1 + (shares - 2) * 9999 / 262142, 1UL, 10000UL)));
        if (r.Cpu?.Quota is long quota && quota != 0)
            Write(dir + "/cpu.max", $"{(quota > 0 ? N(quota) : "max")} {r.Cpu.Period ?? 100000}");
        if (r.Cpu?.Burst is ulong burst) Write(dir + "/cpu.max.burst", N(burst));
        if (r.Cpu?.Idle is long idle && idle != 0) Write(dir + "/cpu.idle", N(idle));

        var m = r.Memory;
        if (m?.Limit is long limit && (limit > 0 || limit == -1)) Write(dir + "/memory.max", limit > 0 ? N(limit) : "max");
        if (m?.Reservation is long soft && soft > 0) Write(dir + "/memory.low", N(soft));
        // v1's swap is memory+swap; v2's memory.swap.max is swap alone.
        if (m?.Swap is long swap && swap > 0 && m.Limit is long l && swap >= l) Write(dir + "/memory.swap.max", N(swap - l));
        if (m?.Swap == -1) Write(dir + "/memory.swap.max", "max");
        if (m?.Kernel != null) RuntimeLog.Warning("linux.resources.memory.kernel ignored: cgroup v2 has no kernel memory limit");
        if (m?.KernelTcp != null) RuntimeLog.Warning("linux.resources.memory.kernelTCP ignored: cgroup v2 has no TCP memory limit");
        if (m?.Swappiness != null) throw new RuntimeError("cannot set linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness");
        if (m?.DisableOomKiller == true) throw new RuntimeError("cannot set linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer");

        if (r.Pids is { Limit: var pids } && pids != 0) Write(dir + "/pids.max", pids > 0 ? N(pids) : "max");
        ApplyIoV2(dir, r.BlockIO);
        foreach (var h in r.HugepageLimits ?? []) Write($"{dir}/hugetlb.{h.PageSize}.max", N(h.Limit));
        if (r.Network?.ClassId != null || r.Network?.Priorities is { Count: > 0 })
            throw new RuntimeError("cannot set linux.resources.network: cgroup v2 has no net_cls or net_prio controller");
        foreach (var (device, rdma) in r.Rdma ?? []) Write(dir + "/rdma.max", RdmaLine(device, rdma));
        foreach (var (key, value) in r.Unified ?? [])
        {
            if (key.Contains('/') || key.StartsWith('.')) throw new RuntimeError($"invalid linux.resources.unified key \"{key}\"");
            Write($"{dir}/{key}", value);
        }
    }

    private static void ApplyIoV2(string dir, BlockIoResources? b)
    {
        if (b == null) return;
        if (b.LeafWeight is not (null or 0) || b.WeightDevice?.Any(d => d.LeafWeight != null) == true)
            throw new RuntimeError("cannot set linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weights");
        // BFQ takes the v1 range (1-1000) in io.bfq.weight; io.weight is 1-10000.
        bool bfq = File.Exists(dir + "/io.bfq.weight");
        string WeightValue(ushort w) => bfq ? N(w) : N(1 + ((ulong)Math.Clamp((int)w, 10, 1000) - 10) * 9999 / 990);
        if (b.Weight is ushort weight && weight != 0) Write(dir + (bfq ? "/io.bfq.weight" : "/io.weight"), WeightValue(weight));
        foreach (var d in b.WeightDevice ?? [])
        {
            if (d.Weight is ushort w) Write(dir + (bfq ? "/io.bfq.weight" : "/io.weight"), $"{d.Major}:{d.Minor} {WeightValue(w)}");
        }
        foreach (var (list, key) in new[]
        {
            (b.ThrottleReadBpsDevice, "rbps"), (b.ThrottleWriteBpsDevice, "wbps"),
            (b.ThrottleReadIopsDevice, "riops"), (b.ThrottleWriteIopsDevice, "wiops"),
        })
        {
            foreach (var d in list ?? []) Write(dir + "/io.max", $"{d.Major}:{d.Minor} {key}={d.Rate}");
        }
    }
}
