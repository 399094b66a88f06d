// Every test drives Linux (namespaces, ptrace, unix file modes): the whole assembly is Linux-only,
// so the platform analyzer (CA1416) does not need an attribute on each class.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
