using Circular.Boot.Guest;

namespace Circular.Boot.Tests;

/// <summary>Network hardware is told from sysfs device descriptions, so a machine without any does not wait for a card.</summary>
public sealed class NetworkHardwareTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private string Device(string bus, string name, string attribute, string value)
    {
        string dir = Path.Combine(_s["sys"], "bus", bus, "devices", name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, attribute), value + "\n");
        return dir;
    }

    [Fact]
    public void Disks_bridges_and_consoles_are_not_network_hardware()
    {
        Device("pci", "0000:00:01.0", "class", "0x060100"); // ISA bridge
        Device("pci", "0000:00:04.0", "class", "0x010000"); // virtio-blk's SCSI storage class
        Device("virtio", "virtio0", "device", "0x0002"); // block
        Device("virtio", "virtio1", "device", "0x0003"); // console
        Device("vmbus", "f8b3781a", "class_id", "{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}"); // storvsc
        Assert.False(NetworkHardware.Present(_s["sys"]));
        Assert.False(NetworkHardware.Present(_s["no-sysfs-here"]));
    }

    [Theory]
    [InlineData("pci", "0000:00:03.0", "class", "0x020000")] // virtio-net-pci, e1000, any Ethernet controller
    [InlineData("virtio", "virtio2", "device", "0x0001")]
    [InlineData("vmbus", "b4a1f1e2", "class_id", "{F8615163-DF3E-46C5-913F-F2D2F965ED0E}")]
    [InlineData("xen", "vif-0", "devtype", "vif")]
    public void A_network_device_of_any_bus_counts_without_its_driver(string bus, string name, string attribute, string value)
    {
        Device("pci", "0000:00:01.0", "class", "0x060100");
        Device(bus, name, attribute, value);
        Assert.True(NetworkHardware.Present(_s["sys"]));
    }
}
