using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OpenAiStreaming.Testing.Hosting;

/// <summary>Loopback ports: a free one for a process that cannot bind port 0, and waiting until one answers.</summary>
public static class Ports
{
    /// <summary>A port free on loopback now, for a process that cannot bind port 0 and report back.</summary>
    /// <returns>The port number.</returns>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/> until it accepts, <paramref name="gaveUp"/> says the process behind
    /// it is gone, or <paramref name="timeout"/> passes. A process that binds its port says so nowhere else, so this polls.
    /// </summary>
    /// <param name="port">The loopback port.</param>
    /// <param name="gaveUp">True once waiting is pointless (the process exited).</param>
    /// <param name="timeout">How long to try.</param>
    /// <returns>Whether the port accepted a connection.</returns>
    public static async Task<bool> WaitUntilListeningAsync(int port, Func<bool> gaveUp, TimeSpan timeout)
    {
        var elapsed = Stopwatch.StartNew();
        while (elapsed.Elapsed < timeout && !gaveUp())
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }

        return false;
    }
}
