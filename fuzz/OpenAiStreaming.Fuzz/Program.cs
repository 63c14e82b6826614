using OpenAiStreaming.Fuzz;
using SharpFuzz;

// AFL++ runs this under its fork server (fuzz/run.sh); with file arguments it replays inputs instead, which is how a
// finding is reproduced and how CI checks that the corpus still passes.
if (args.Length > 0)
{
    foreach (string path in args.SelectMany(a => Directory.Exists(a) ? Directory.GetFiles(a) : [a]))
    {
        RequestTarget.Run(File.ReadAllBytes(path));
    }

    return;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    RequestTarget.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
