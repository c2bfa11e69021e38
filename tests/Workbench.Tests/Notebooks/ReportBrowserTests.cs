using Microsoft.Playwright;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

/// <summary>A real browser opens a generated report offline: every Plotly figure must render (an SVG in each .js-plotly-plot), with no console errors.</summary>
[Collection("kernel")]
public class ReportBrowserTests(StateNotebookRun state)
{
    static string Chromium()
    {
        foreach (var candidate in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" })
            if (File.Exists(candidate)) return candidate;
        throw new InvalidOperationException("Chromium is not installed: run `apt-get install -y chromium` (environment/setup.sh does it as root).");
    }

    [Fact]
    public async Task Report_renders_every_plotly_figure_offline_without_console_errors()
    {
        var run = state.Run;
        Assert.True(run.Passed, run.Describe());

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium(), Headless = true,
            Args = new[] { "--no-sandbox", "--disable-gpu", "--disable-background-networking" },
        });
        var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);
        var external = new List<string>();
        // Offline: any request that is not the file itself is refused and recorded.
        await page.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url.StartsWith("file://", StringComparison.Ordinal) || route.Request.Url.StartsWith("data:", StringComparison.Ordinal)) await route.ContinueAsync();
            else { external.Add(route.Request.Url); await route.AbortAsync(); }
        });
        await page.GotoAsync("file://" + Path.GetFullPath(run.Report));
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.js-plotly-plot').length >= 2", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        int plots = await page.EvaluateAsync<int>("() => document.querySelectorAll('.js-plotly-plot').length");
        int withSvg = await page.EvaluateAsync<int>("() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(p => p.querySelector('svg.main-svg')).length");
        Assert.Equal(2, plots);
        Assert.Equal(plots, withSvg);
        Assert.Empty(errors);
        Assert.Empty(external);
    }
}
