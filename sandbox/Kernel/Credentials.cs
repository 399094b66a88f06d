namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A task's identity (credentials(7)): real, effective, saved and filesystem user and group
/// IDs, supplementary groups, the five capability sets and the securebits. Immutable: changes
/// make a new instance.
/// </summary>
internal sealed record Credentials(
    uint Uid, uint Gid, uint Euid, uint Egid, uint Suid, uint Sgid, uint Fsuid, uint Fsgid,
    uint[] Groups, ulong EffectiveCaps, ulong PermittedCaps, ulong InheritableCaps, ulong BoundingCaps)
{
    /// <summary>The highest capability number this kernel knows (CAP_CHECKPOINT_RESTORE).</summary>
    public const int LastCap = 40;

    /// <summary>All capabilities up to CAP_CHECKPOINT_RESTORE (40).</summary>
    public const ulong AllCaps = (1UL << (LastCap + 1)) - 1;

    /// <summary>securebits (capabilities(7)): SECBIT_NOROOT and the others, with their _LOCKED bits.</summary>
    public const uint SecbitNoRoot = 1 << 0, SecbitNoSetuidFixup = 1 << 2, SecbitKeepCaps = 1 << 4,
        SecbitNoCapAmbientRaise = 1 << 6, SecbitsAll = 0x3f | 0xc0;

    /// <summary>Root with every capability (the default for a container process).</summary>
    public static Credentials Root { get; } = new(0, 0, 0, 0, 0, 0, 0, 0, Array.Empty<uint>(), AllCaps, AllCaps, 0, AllCaps);

    /// <summary>The ambient set: kept over execve of a file that is not set-user-ID and has no file capabilities.</summary>
    public ulong AmbientCaps { get; init; }

    /// <summary>The securebits flags (prctl PR_SET_SECUREBITS).</summary>
    public uint SecureBits { get; init; }

    /// <summary>True if the effective set holds capability <paramref name="cap"/> (linux/capability.h number).</summary>
    public bool HasCapability(int cap) => (EffectiveCaps & (1UL << cap)) != 0;

    /// <summary>True if <paramref name="gid"/> is the filesystem group or a supplementary group.</summary>
    public bool InGroup(uint gid) => Fsgid == gid || Array.IndexOf(Groups, gid) >= 0;

    /// <summary>
    /// The capability fix-ups Linux makes after a change of user IDs (capabilities(7), "Effect
    /// of user ID changes on capabilities"), from <paramref name="old"/> to these IDs: leaving
    /// root in all three IDs clears the permitted (unless SECBIT_KEEP_CAPS), effective and ambient
    /// sets; an effective ID leaving 0 clears the effective set, one becoming 0 restores it from
    /// the permitted set. SECBIT_NO_SETUID_FIXUP turns all of this off.
    /// </summary>
    public Credentials AfterUidChange(Credentials old)
    {
        if ((old.SecureBits & SecbitNoSetuidFixup) != 0) return this;
        var n = this;
        bool oldAnyRoot = old.Uid == 0 || old.Euid == 0 || old.Suid == 0;
        bool newAllNonRoot = Uid != 0 && Euid != 0 && Suid != 0;
        if (oldAnyRoot && newAllNonRoot)
        {
            n = (old.SecureBits & SecbitKeepCaps) != 0
                ? n with { AmbientCaps = 0 }
                : n with { PermittedCaps = 0, EffectiveCaps = 0, AmbientCaps = 0 };
        }
        if (old.Euid == 0 && n.Euid != 0) n = n with { EffectiveCaps = 0 };
        if (old.Euid != 0 && n.Euid == 0) n = n with { EffectiveCaps = n.PermittedCaps };
        return n;
    }

    /// <summary>
    /// The credentials after execve(2) of a file owned by <paramref name="fileUid"/>:<paramref name="fileGid"/>
    /// (capabilities(7), "Transformation of capabilities during execve()"; the Sentry has no file
    /// capabilities, so only the set-user/group-ID bits and root's special case apply): set-ID
    /// bits (the caller passes false for a nosuid mount) change the effective and saved IDs; for
    /// root (unless SECBIT_NOROOT) the file counts as having every capability, P'(permitted) =
    /// P(inheritable) | P(bounding); an exec that changes IDs (effective differs from real) clears
    /// the ambient set; P'(permitted) |= P'(ambient); P'(effective) = effective ID 0 ?
    /// P'(permitted) : P'(ambient). Under no_new_privs an ID change is undone and the permitted
    /// set cannot grow. SECBIT_KEEP_CAPS is cleared. <paramref name="secure"/> is AT_SECURE.
    /// </summary>
    public Credentials ForExec(uint fileUid, uint fileGid, bool setUid, bool setGid, bool noNewPrivs, out bool secure)
    {
        uint euid = setUid ? fileUid : Euid;
        uint egid = setGid ? fileGid : Egid;
        ulong permitted = 0;
        bool effective = false;
        if ((SecureBits & SecbitNoRoot) == 0)
        {
            if (euid == 0 || Uid == 0) permitted = BoundingCaps | InheritableCaps;
            effective = euid == 0;
        }
        bool idChanged = euid != Uid || egid != Gid;
        if (noNewPrivs && (idChanged || (permitted & ~PermittedCaps) != 0))
        {
            euid = Uid;
            egid = Gid;
            permitted &= PermittedCaps;
            effective = effective && euid == 0;
        }
        ulong ambient = idChanged ? 0 : AmbientCaps;
        permitted |= ambient;
        ulong effectiveSet = effective ? permitted : ambient;
        secure = idChanged || (Uid != 0 && (effective || (permitted & ~ambient) != 0));
        return this with
        {
            Euid = euid, Suid = euid, Fsuid = euid, Egid = egid, Sgid = egid, Fsgid = egid,
            PermittedCaps = permitted, EffectiveCaps = effectiveSet, AmbientCaps = ambient,
            SecureBits = SecureBits & ~SecbitKeepCaps,
        };
    }

    /// <summary>This with the ambient set trimmed to what is both permitted and inheritable (the invariant Linux keeps).</summary>
    public Credentials WithAmbientInvariant() => this with { AmbientCaps = AmbientCaps & PermittedCaps & InheritableCaps };
}
