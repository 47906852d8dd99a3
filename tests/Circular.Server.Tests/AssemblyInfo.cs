// The suite drives nginx, curl and nbdkit and sets Unix file modes: Linux only, like the project.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
