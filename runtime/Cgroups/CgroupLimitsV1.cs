using System.Globalization;
using RunscNet.Runtime.Logging;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Cgroups;

/// <summary>
/// linux.resources on cgroup v1, file by file as runc's cgroupfs driver writes them
/// (Documentation/admin-guide/cgroup-v1/*.rst). A field whose hierarchy the host lacks, or
/// whose file the kernel lacks, is refused with the file named; kernel memory limits, which
/// the kernel may accept and ignore, only warn (as runc).
/// Devices (linux.resources.devices) are not written here.
/// </summary>
public sealed partial class Cgroup
{
    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string N(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The directory of <paramref name="controller"/>'s hierarchy, or an error naming <paramref name="field"/>.</summary>
    private string Require(string controller, string field) => DirectoryOf(controller)
        ?? throw new RuntimeError($"cannot set linux.resources.{field}: the host has no {controller} cgroup hierarchy mounted");

    /// <summary>Refusals that do not depend on the cgroup version's files.</summary>
    private static void CheckSupported(Resources r)
    {
        if (r.Memory?.Swappiness is ulong swappiness && swappiness > 100)
            throw new RuntimeError($"invalid linux.resources.memory.swappiness {swappiness} (valid range is 0-100)");
        if (r.Memory?.UseHierarchy == false)
            throw new RuntimeError("linux.resources.memory.useHierarchy false is not supported: the kernel always accounts hierarchically");
        if (r.Unified is { Count: > 0 } && !IsV2)
            throw new RuntimeError("linux.resources.unified needs a cgroup v2 host");
        foreach (var limit in r.HugepageLimits ?? [])
        {
            if (string.IsNullOrEmpty(limit.PageSize) || limit.PageSize.Contains('/') || limit.PageSize.Contains('.'))
                throw new RuntimeError($"invalid linux.resources.hugepageLimits pageSize \"{limit.PageSize}\"");
        }
    }

    private void ApplyV1(Resources r)
    {
        ApplyCpusetV1(r.Cpu);
        ApplyCpuV1(r.Cpu);
        ApplyMemoryV1(r.Memory);
        if (r.Pids is { Limit: var pids } && pids != 0) Write(Require("pids", "pids") + "/pids.max", pids > 0 ? N(pids) : "max");
        ApplyBlockIoV1(r.BlockIO);
        foreach (var limit in r.HugepageLimits ?? [])
        {
            string dir = Require("hugetlb", "hugepageLimits");
            string file = $"{dir}/hugetlb.{limit.PageSize}.limit_in_bytes";
            if (!File.Exists(file)) throw new RuntimeError($"cannot set linux.resources.hugepageLimits: the host has no {limit.PageSize} huge pages ({file})");
            Write(file, N(limit.Limit));
            // Reservations are charged separately since Linux 5.7; runc limits both.
            if (File.Exists($"{dir}/hugetlb.{limit.PageSize}.rsvd.limit_in_bytes")) Write($"{dir}/hugetlb.{limit.PageSize}.rsvd.limit_in_bytes", N(limit.Limit));
        }
        if (r.Network?.ClassId is uint classId) Write(Require("net_cls", "network.classID") + "/net_cls.classid", classId.ToString(CultureInfo.InvariantCulture));
        foreach (var p in r.Network?.Priorities ?? [])
            Write(Require("net_prio", "network.priorities") + "/net_prio.ifpriomap", $"{p.Name} {p.Priority}");
        foreach (var (device, limit) in r.Rdma ?? [])
            Write(Require("rdma", "rdma") + "/rdma.max", RdmaLine(device, limit));
    }

    private static string RdmaLine(string device, RdmaLimit limit) =>
        device + (limit.HcaHandles is uint h ? $" hca_handle={h}" : "") + (limit.HcaObjects is uint o ? $" hca_object={o}" : "");

    private void ApplyCpusetV1(CpuResources? cpu)
    {
        if (!string.IsNullOrEmpty(cpu?.Cpus)) Write(Require("cpuset", "cpu.cpus") + "/cpuset.cpus", cpu.Cpus);
        if (!string.IsNullOrEmpty(cpu?.Mems)) Write(Require("cpuset", "cpu.mems") + "/cpuset.mems", cpu.Mems);
    }

    private void ApplyCpuV1(CpuResources? c)
    {
        if (c == null) return;
        // Real-time bandwidth before anything joins: a SCHED_RR task cannot join a group without it.
        if (c.RealtimePeriod is ulong rtPeriod && rtPeriod != 0) Write(Require("cpu", "cpu.realtimePeriod") + "/cpu.rt_period_us", N(rtPeriod));
        if (c.RealtimeRuntime is long rtRuntime && rtRuntime != 0) Write(Require("cpu", "cpu.realtimeRuntime") + "/cpu.rt_runtime_us", N(rtRuntime));
        if (c.Shares is ulong shares && shares != 0)
        {
            string file = Require("cpu", "cpu.shares") + "/cpu.shares";
            Write(file, N(shares));
            // The kernel clamps to [2, 262144] silently; runc reports it instead.
            if (TryRead(file) is { } got && got != N(shares))
                throw new RuntimeError($"linux.resources.cpu.shares {shares} is out of range: the kernel set {got} ({(shares > ulong.Parse(got, CultureInfo.InvariantCulture) ? "maximum" : "minimum")} allowed)");
        }
        bool period = c.Period is ulong p && p != 0, quota = c.Quota is long q && q != 0;
        if (period || quota)
        {
            string dir = Require("cpu", "cpu.quota");
            try
            {
                if (period) Write(dir + "/cpu.cfs_period_us", N(c.Period!.Value));
            }
            catch (RuntimeError) when (quota)
            {
                // A shorter period than the current quota allows: set the quota first.
                Write(dir + "/cpu.cfs_quota_us", N(c.Quota!.Value));
            }
            if (quota) Write(dir + "/cpu.cfs_quota_us", N(c.Quota!.Value));
            if (period) Write(dir + "/cpu.cfs_period_us", N(c.Period!.Value));
        }
        if (c.Burst is ulong burst) Write(Require("cpu", "cpu.burst") + "/cpu.cfs_burst_us", N(burst));
        if (c.Idle is long idle && idle != 0) Write(Require("cpu", "cpu.idle") + "/cpu.idle", N(idle));
    }

    private void ApplyMemoryV1(MemoryResources? m)
    {
        if (m == null) return;
        bool any = m.Limit is not (null or 0) || m.Swap is not (null or 0) || m.Reservation is not (null or 0) || m.Kernel != null
            || m.KernelTcp != null || m.Swappiness != null || m.DisableOomKiller == true;
        if (!any) return;
        string dir = Require("memory", "memory");
        long limit = m.Limit ?? 0, swap = m.Swap ?? 0;
        if (limit == -1 && swap == 0) swap = -1; // unlimited memory means unlimited swap too
        string limitFile = dir + "/memory.limit_in_bytes", swapFile = dir + "/memory.memsw.limit_in_bytes";
        if (swap != 0 && !File.Exists(swapFile))
            throw new RuntimeError("cannot set linux.resources.memory.swap: the kernel does not account swap (memory.memsw.limit_in_bytes; boot with swapaccount=1)");
        // memsw must stay >= the memory limit at every step: raise it first when it grows.
        bool swapFirst = limit != 0 && swap != 0 && (swap == -1 || ulong.TryParse(TryRead(limitFile), out ulong current) && current < (ulong)swap);
        if (swapFirst) Write(swapFile, N(swap));
        if (limit != 0) Write(limitFile, N(limit));
        if (!swapFirst && swap != 0) Write(swapFile, N(swap));
        if (m.Reservation is long soft && soft != 0) Write(dir + "/memory.soft_limit_in_bytes", N(soft));
        if (m.Kernel is long kernel) KernelLimit(dir + "/memory.kmem.limit_in_bytes", kernel, "memory.kernel");
        if (m.KernelTcp is long tcp) KernelLimit(dir + "/memory.kmem.tcp.limit_in_bytes", tcp, "memory.kernelTCP");
        if (m.Swappiness is ulong swappiness) Write(dir + "/memory.swappiness", N(swappiness));
        if (m.DisableOomKiller == true) Write(dir + "/memory.oom_control", "1");
    }

    /// <summary>
    /// Kernel memory limits are deprecated: Linux 5.16+ keeps memory.kmem.limit_in_bytes but
    /// ignores writes, later kernels drop the files. Where the limit does not take, say so on
    /// stderr and the log and go on, as runc does; where it does, it is applied.
    /// </summary>
    private static void KernelLimit(string file, long value, string field)
    {
        if (!File.Exists(file))
        {
            RuntimeLog.Warning($"linux.resources.{field} ignored: this kernel has no {System.IO.Path.GetFileName(file)}");
            return;
        }
        try
        {
            File.WriteAllText(file, N(value));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RuntimeLog.Warning($"linux.resources.{field} ignored: writing {value} to {file}: {e.Message}");
            return;
        }
        string? got = TryRead(file);
        if (value > 0 && got != N(value) && !(ulong.TryParse(got, out ulong g) && g == ((ulong)value & ~4095UL)))
            RuntimeLog.Warning($"linux.resources.{field} ignored: this kernel does not limit kernel memory ({System.IO.Path.GetFileName(file)} reads {got})");
    }

    private void ApplyBlockIoV1(BlockIoResources? b)
    {
        if (b == null) return;
        string dir = Require("blkio", "blockIO");
        // CFQ (before Linux 5.0) had blkio.weight; BFQ has blkio.bfq.weight; other schedulers neither.
        string weightFile = File.Exists(dir + "/blkio.weight") ? "blkio.weight" : File.Exists(dir + "/blkio.bfq.weight") ? "blkio.bfq.weight" : "";
        void Weight(string field, string file, string value)
        {
            if (file.Length == 0 || !File.Exists($"{dir}/{file}"))
                throw new RuntimeError($"cannot set linux.resources.blockIO.{field}: the host's blkio controller has no {(file.Length == 0 ? "blkio.weight" : file)} (no CFQ or BFQ I/O scheduler)");
            Write($"{dir}/{file}", value);
        }
        if (b.Weight is ushort weight && weight != 0) Weight("weight", weightFile, N(weight));
        if (b.LeafWeight is ushort leaf && leaf != 0) Weight("leafWeight", "blkio.leaf_weight", N(leaf));
        foreach (var d in b.WeightDevice ?? [])
        {
            if (d.Weight is ushort w) Weight("weightDevice", weightFile.Length == 0 ? "" : weightFile + "_device", $"{d.Major}:{d.Minor} {w}");
            if (d.LeafWeight is ushort lw) Weight("weightDevice", "blkio.leaf_weight_device", $"{d.Major}:{d.Minor} {lw}");
        }
        foreach (var (list, file) in new[]
        {
            (b.ThrottleReadBpsDevice, "blkio.throttle.read_bps_device"), (b.ThrottleWriteBpsDevice, "blkio.throttle.write_bps_device"),
            (b.ThrottleReadIopsDevice, "blkio.throttle.read_iops_device"), (b.ThrottleWriteIopsDevice, "blkio.throttle.write_iops_device"),
        })
        {
            foreach (var d in list ?? []) Write($"{dir}/{file}", $"{d.Major}:{d.Minor} {d.Rate}");
        }
    }
}
