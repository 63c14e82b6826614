namespace OpenAiStreaming.ScaleOut.Tests.Infrastructure;

/// <summary>The three-replica configs under <c>samples/deploy/</c> (read through <see cref="DeploySamples"/>), pointed at test ports.</summary>
public static class DeployFiles
{
    /// <summary>The replica addresses the files name (127.0.0.1:8001..8003), each replaced by a test port.</summary>
    public static (string From, string To)[] Replicas(IReadOnlyList<int> ports) =>
        [.. ports.Select((port, i) => ($"127.0.0.1:{8001 + i}", $"127.0.0.1:{port}"))];

    /// <summary>Starts nginx with <c>samples/deploy/nginx-replicas.conf</c> in front of <paramref name="ports"/>.</summary>
    public static Task<ServerProcess> StartNginxAsync(IReadOnlyList<int> ports) =>
        NginxProcess.StartWithHttpBodyAsync((_, port) =>
            DeploySamples.Load("nginx-replicas.conf", [.. Replicas(ports), ("listen 80;", $"listen 127.0.0.1:{port};")]));

    /// <summary>
    /// Starts HAProxy with <c>samples/deploy/haproxy-replicas.cfg</c> in front of <paramref name="ports"/>, its stats page on
    /// <paramref name="statsPort"/>.
    /// </summary>
    public static Task<ServerProcess> StartHaproxyAsync(IReadOnlyList<int> ports, int statsPort) =>
        HaproxyProcess.StartAsync(port =>
            DeploySamples.Load("haproxy-replicas.cfg", [.. Replicas(ports), ("bind :80", $"bind 127.0.0.1:{port}"), ("bind 127.0.0.1:8404", $"bind 127.0.0.1:{statsPort}")]));
}
