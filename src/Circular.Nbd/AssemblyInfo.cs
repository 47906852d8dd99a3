using System.Runtime.CompilerServices;

// The tests check wire encoders (block status, request parsing) directly, not only through a socket.
[assembly: InternalsVisibleTo("Circular.Nbd.Tests")]
