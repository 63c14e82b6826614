using System.Net;
using System.Net.Sockets;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

public static class Ports
{
    /// <summary>A port free on loopback now, for a process that cannot bind port 0 and report back.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
