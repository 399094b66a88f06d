namespace RunscNet.Gofer.Protocol;

/// <summary>
/// What every response contract has: field 1 is the result, 0 or a positive Linux errno. Because
/// it is field 1 everywhere, <see cref="ErrorResponse"/> decodes as any response type.
/// </summary>
internal interface IResponse
{
    /// <summary>0 on success, else a positive Linux errno.</summary>
    int Errno { get; set; }
}
