// Mounts, loop devices and the 2-second refresh make these tests timing-sensitive: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
