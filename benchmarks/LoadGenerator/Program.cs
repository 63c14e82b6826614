using System.CommandLine;
using OpenAiStreaming.LoadGenerator;

return await LoadGeneratorCommand.Create().Parse(args).InvokeAsync().ConfigureAwait(false);
