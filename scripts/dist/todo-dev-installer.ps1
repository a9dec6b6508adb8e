# todo-dev installer for Windows: fetches the release's zip for x86_64,
# checks it against the release's SHA-256, and installs todo-dev.exe with its
# completions. Nothing is installed from an archive whose checksum does not match.
#
#   powershell -ExecutionPolicy Bypass -File todo-dev-installer.ps1 [-Prefix DIR] [-Archive FILE] [-From URL]
#
#   -Prefix   where to install (default $env:LOCALAPPDATA\todo-dev): PREFIX\bin\todo-dev.exe
#   -Archive  install this zip (FILE.sha256 must be beside it) instead of downloading one
#   -From     download from this release address (also $env:TODO_DEV_RELEASE_URL)
param(
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA 'todo-dev'),
    [string]$Archive = '',
    [string]$From = ''
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Version = '__VERSION__'
$ReleaseUrl = '__RELEASE_URL__'
if ($env:TODO_DEV_RELEASE_URL) { $ReleaseUrl = $env:TODO_DEV_RELEASE_URL }
if ($From) { $ReleaseUrl = $From }

# A terminating error: exit 1 under -File, and `irm ... | iex` keeps the user's shell open.
function Fail([string]$Message) {
    throw "todo-dev-installer: $Message"
}

$Work = Join-Path ([System.IO.Path]::GetTempPath()) ("todo-dev-" + [System.Guid]::NewGuid())
New-Item -ItemType Directory -Path $Work | Out-Null
try {
    if (-not $Archive) {
        if ($ReleaseUrl.StartsWith('__')) {
            Fail 'this copy of the installer names no release: use -From URL or -Archive FILE'
        }
        if (-not [Environment]::Is64BitOperatingSystem) {
            Fail 'release archives are for 64-bit Windows only: build from source with cargo'
        }
        $Name = "todo-dev-v$Version-x86_64-pc-windows-msvc.zip"
        Write-Host "todo-dev-installer: downloading $Name"
        $Archive = Join-Path $Work $Name
        Invoke-WebRequest -UseBasicParsing -Uri "$ReleaseUrl/$Name" -OutFile $Archive
        Invoke-WebRequest -UseBasicParsing -Uri "$ReleaseUrl/$Name.sha256" -OutFile "$Archive.sha256"
    }
    if (-not (Test-Path $Archive)) { Fail "no archive at $Archive" }
    if (-not (Test-Path "$Archive.sha256")) {
        Fail "no checksum file at $Archive.sha256: refusing an archive that cannot be checked"
    }
    $Want = ((Get-Content "$Archive.sha256" -Raw).Trim() -split '\s+')[0].ToLowerInvariant()
    if ($Want -notmatch '^[0-9a-f]{64}$') { Fail "$Archive.sha256 holds no SHA-256" }
    $Got = (Get-FileHash -Algorithm SHA256 -Path $Archive).Hash.ToLowerInvariant()
    if ($Want -ne $Got) {
        Fail "refused ${Archive}: its SHA-256 is $Got, the release says $Want (a damaged or altered download); nothing was installed"
    }
    $Unpacked = Join-Path $Work 'x'
    Expand-Archive -Path $Archive -DestinationPath $Unpacked
    $Root = Get-ChildItem -Path $Unpacked -Directory | Select-Object -First 1
    if (-not $Root -or -not (Test-Path (Join-Path $Root.FullName 'todo-dev.exe'))) {
        Fail "$Archive holds no todo-dev.exe"
    }
    $Bin = Join-Path $Prefix 'bin'
    $Completions = Join-Path $Prefix 'completions'
    New-Item -ItemType Directory -Force -Path $Bin, $Completions | Out-Null
    Copy-Item -Force (Join-Path $Root.FullName 'todo-dev.exe') (Join-Path $Bin 'todo-dev.exe')
    Copy-Item -Force (Join-Path $Root.FullName 'completions\*') $Completions
    $Installed = & (Join-Path $Bin 'todo-dev.exe') --version
    Write-Host "todo-dev-installer: installed $Installed into $Bin"
    $UserPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    if (-not (($UserPath -split ';') -contains $Bin)) {
        Write-Host "todo-dev-installer: add $Bin to your Path, e.g.:"
        Write-Host "  [Environment]::SetEnvironmentVariable('Path', `"$Bin;`$([Environment]::GetEnvironmentVariable('Path', 'User'))`", 'User')"
    }
    Write-Host "todo-dev-installer: PowerShell completion: . $Completions\_todo-dev.ps1"
}
finally {
    Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue
}
