using ChatStats.Testing;
using PuppeteerSharp;

namespace ChatStats.Bot.Tests.Web;

/// <summary>Debian's chromium, headless, through PuppeteerSharp (no browser download works here).</summary>
internal static class Chromium
{
    public static Task<IBrowser> LaunchAsync() => Puppeteer.LaunchAsync(new LaunchOptions
    {
        ExecutablePath = Tools.Chromium(),
        Headless = true,
        // Root in a container has no user namespace for chromium's sandbox; /dev/shm may be tiny.
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        DefaultViewport = new ViewPortOptions { Width = 1280, Height = 1100 },
    });
}
