namespace OpenAiStreaming.ScaleOut.Tests.Infrastructure;

/// <summary>The configs under <c>samples/deploy/</c>, read from the repository so the tests run the files the docs show.</summary>
public static class DeployFiles
{
    /// <summary>
    /// The text of <c>samples/deploy/<paramref name="file"/></c> with each (from, to) replaced; each <c>from</c> must occur
    /// exactly once, so a sample that changes cannot silently stop being tested.
    /// </summary>
    public static string Load(string file, params (string From, string To)[] replacements)
    {
        string text = File.ReadAllText(Path.Combine(OpenAiStreaming.Testing.Repository.Root, "samples", "deploy", file));
        foreach (var (from, to) in replacements)
        {
            int count = text.Split(from).Length - 1;
            Assert.True(count == 1, $"samples/deploy/{file} should contain \"{from}\" exactly once, found {count}");
            text = text.Replace(from, to, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>The replica addresses the files name (127.0.0.1:8001..8003), each replaced by a test port.</summary>
    public static (string From, string To)[] Replicas(IReadOnlyList<int> ports) =>
        [.. ports.Select((port, i) => ($"127.0.0.1:{8001 + i}", $"127.0.0.1:{port}"))];

    /// <summary>Starts nginx with <c>samples/deploy/nginx-replicas.conf</c> in front of <paramref name="ports"/>.</summary>
    public static Task<ServerProcess> StartNginxAsync(IReadOnlyList<int> ports) =>
        NginxProcess.StartWithHttpBodyAsync((_, port) =>
            Load("nginx-replicas.conf", [.. Replicas(ports), ("listen 80;", $"listen 127.0.0.1:{port};")]));

    /// <summary>
    /// Starts HAProxy with <c>samples/deploy/haproxy-replicas.cfg</c> in front of <paramref name="ports"/>, its stats page on
    /// <paramref name="statsPort"/>.
    /// </summary>
    public static Task<ServerProcess> StartHaproxyAsync(IReadOnlyList<int> ports, int statsPort) =>
        HaproxyProcess.StartAsync(port =>
            Load("haproxy-replicas.cfg", [.. Replicas(ports), ("bind :80", $"bind 127.0.0.1:{port}"), ("bind 127.0.0.1:8404", $"bind 127.0.0.1:{statsPort}")]));
}
