
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'todo-dev' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'todo-dev'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'todo-dev' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write the reference Todo chatbot and its todo-dev.yaml into a new or empty directory (--detect: a todo-dev.yaml for an existing repository)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check that this machine can run the stack, and say how to fix what is missing')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Start Minikube, build the images into its Docker daemon, deploy, and say where to open the app')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Build the project''s images (all enabled services, or the ones named)')
            [CompletionResult]::new('context', 'context', [CompletionResultType]::ParameterValue, 'Show what a service''s (or a directory''s) build context sends')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print exactly what `deploy` would apply (Secret values redacted)')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Apply the rendered objects to the local cluster, wait for the rollout, explain failures')
            [CompletionResult]::new('smoke', 'smoke', [CompletionResultType]::ParameterValue, 'Build the images and run the stack on the local Docker daemon with Postgres: health endpoints and one round trip through the frontend, then remove it all')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the deployed project as the source plans'' checklists do: workloads Ready, HPA, volumes, image sizes, the printed address, sign-up and sign-in, the task API, each MCP tool over an MCP session, one chat turn within 5 s')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Remove what todo-dev created in the cluster (claims kept unless --purge)')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the logs of every pod of the services (all, or the ones named), each line prefixed by service and pod; -f follows new pods')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'The dev loop: `up`, then each save synced into the running pods or its service rebuilt and rolled (--dry-run: only say which)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Export the stack in another packaging format')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'List the profiles with a one-line summary each')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the effective configuration (profile + todo-dev.yaml + --set), secrets redacted')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'todo-dev;init' {
            [CompletionResult]::new('--frontend', '--frontend', [CompletionResultType]::ParameterName, 'The app''s frontend: the static SPA behind nginx, or Next.js (built with todo-dev''s nextjs template)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace files that already exist (init), or an existing todo-dev.yaml (--detect)')
            [CompletionResult]::new('--detect', '--detect', [CompletionResultType]::ParameterName, 'Write only a todo-dev.yaml for the repository already there, saying what was found and why')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;doctor' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds each probe may take before it counts as not answering')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;up' {
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kube context to use [default: the project''s Minikube cluster, never just the current context]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for each rollout')
            [CompletionResult]::new('--recreate', '--recreate', [CompletionResultType]::ParameterName, 'Delete this Deployment or StatefulSet before deploying and create it anew (claims are kept) (repeatable)')
            [CompletionResult]::new('--ui-port', '--ui-port', [CompletionResultType]::ParameterName, 'The status page''s port (0: any free one; a busy one moves to a free one)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--allow-remote', '--allow-remote', [CompletionResultType]::ParameterName, 'Allow a context that is not a local cluster (needs --context NAME too)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Rebuild images even when Minikube''s daemon already has them')
            [CompletionResult]::new('--port-forward', '--port-forward', [CompletionResultType]::ParameterName, 'Then forward the frontend and the backend to 127.0.0.1 through the Kubernetes API, until Ctrl-C')
            [CompletionResult]::new('--ui', '--ui', [CompletionResultType]::ParameterName, 'Serve the live status page on 127.0.0.1 from the start, and keep it (rebuild, restart and verify buttons) until Ctrl-C')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;build' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Build even when the daemon already has the image for these inputs')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;context' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'One path per line, relative to the context root, files only, sorted')
            [CompletionResult]::new('--size', '--size', [CompletionResultType]::ParameterName, 'The total size and the biggest directories first')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;render' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--show-secrets', '--show-secrets', [CompletionResultType]::ParameterName, 'Show Secret values instead of <redacted>')
            [CompletionResult]::new('--values', '--values', [CompletionResultType]::ParameterName, 'Print the values tree the manifests are filled from, instead of the objects')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;deploy' {
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kube context to use [default: the project''s Minikube cluster, never just the current context]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for each rollout')
            [CompletionResult]::new('--recreate', '--recreate', [CompletionResultType]::ParameterName, 'Delete this Deployment or StatefulSet first and create it anew (for a field Kubernetes cannot change in place; claims are kept) (repeatable)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--allow-remote', '--allow-remote', [CompletionResultType]::ParameterName, 'Allow a context that is not a local cluster (needs --context NAME too)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;smoke' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds every service together may take to answer its health endpoints')
            [CompletionResult]::new('--postgres-image', '--postgres-image', [CompletionResultType]::ParameterName, 'Postgres image to run the database from')
            [CompletionResult]::new('--redis-image', '--redis-image', [CompletionResultType]::ParameterName, 'Redis image, for profiles with Redis')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'When every check passes, leave the stack running and print its addresses (remove it by the run''s label)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;verify' {
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kube context to use [default: the project''s Minikube cluster, never just the current context]')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Check the app at this address only (the frontend, whose /api/ proxy reaches the backend), not the project''s cluster')
            [CompletionResult]::new('--backend-url', '--backend-url', [CompletionResultType]::ParameterName, 'With --url: the backend''s own address, to check its probes'' /health and /ready too')
            [CompletionResult]::new('--mcp-url', '--mcp-url', [CompletionResultType]::ParameterName, 'With --url: the MCP server''s streamable HTTP endpoint (profiles full and agents), e.g. http://HOST:8001/mcp')
            [CompletionResult]::new('--auth-secret', '--auth-secret', [CompletionResultType]::ParameterName, 'With --url: the deployment''s signing secret, to make the short-lived user token the MCP tools take (on the cluster it is read from todo-secrets)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--allow-remote', '--allow-remote', [CompletionResultType]::ParameterName, 'Allow a context that is not a local cluster (needs --context NAME too)')
            [CompletionResult]::new('--disruptive', '--disruptive', [CompletionResultType]::ParameterName, 'Also delete a backend pod (its replacement Ready within 60 s) and the database''s pods (a marker task kept); never by default')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;down' {
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kube context to use [default: the project''s Minikube cluster, never just the current context]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for objects to be gone')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--allow-remote', '--allow-remote', [CompletionResultType]::ParameterName, 'Allow a context that is not a local cluster (needs --context NAME too)')
            [CompletionResult]::new('--purge', '--purge', [CompletionResultType]::ParameterName, 'Also delete the PersistentVolumeClaims (the data) and the namespace, if todo-dev created it')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Then stop the Minikube cluster (`minikube stop`; it keeps its state for the next `up`)')
            [CompletionResult]::new('--delete-cluster', '--delete-cluster', [CompletionResultType]::ParameterName, 'Delete the whole Minikube cluster instead (`minikube delete`: everything in it, all data)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask before --delete-cluster (needed when not on a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask before --delete-cluster (needed when not on a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;logs' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only lines newer than this: 30s, 5m, 2h')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Only the last N lines of each container')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kube context to use [default: the project''s Minikube cluster, never just the current context]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep following: new pods are attached, ended ones detached, until Ctrl-C')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep following: new pods are attached, ended ones detached, until Ctrl-C')
            [CompletionResult]::new('--allow-remote', '--allow-remote', [CompletionResultType]::ParameterName, 'Allow a context that is not a local cluster (needs --context NAME too)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;watch' {
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kube context to use [default: the project''s Minikube cluster, never just the current context]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for each rollout (the first `up` and every change)')
            [CompletionResult]::new('--ui-port', '--ui-port', [CompletionResultType]::ParameterName, 'The status page''s port (0: any free one; a busy one moves to a free one)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--allow-remote', '--allow-remote', [CompletionResultType]::ParameterName, 'Allow a context that is not a local cluster (needs --context NAME too)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only report each change set (service, sync or rebuild, paths); needs no cluster and no Docker')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Also print the logs of every pod, following replacements (as `logs -f`)')
            [CompletionResult]::new('--port-forward', '--port-forward', [CompletionResultType]::ParameterName, 'Forward the frontend and the backend to 127.0.0.1 (the default)')
            [CompletionResult]::new('--no-port-forward', '--no-port-forward', [CompletionResultType]::ParameterName, 'Do not forward any port')
            [CompletionResult]::new('--no-ui', '--no-ui', [CompletionResultType]::ParameterName, 'Do not serve the live status page')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;export' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('helm', 'helm', [CompletionResultType]::ParameterValue, 'A Helm chart equal to `render` for the profile (helm template with default values gives the same objects)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'todo-dev;export;helm' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;export;help' {
            [CompletionResult]::new('helm', 'helm', [CompletionResultType]::ParameterValue, 'A Helm chart equal to `render` for the profile (helm template with default values gives the same objects)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'todo-dev;export;help;helm' {
            break
        }
        'todo-dev;export;help;help' {
            break
        }
        'todo-dev;profiles' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;config' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;completions' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail where a command has it (today: `doctor` adds what each check found)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'todo-dev;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write the reference Todo chatbot and its todo-dev.yaml into a new or empty directory (--detect: a todo-dev.yaml for an existing repository)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check that this machine can run the stack, and say how to fix what is missing')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Start Minikube, build the images into its Docker daemon, deploy, and say where to open the app')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Build the project''s images (all enabled services, or the ones named)')
            [CompletionResult]::new('context', 'context', [CompletionResultType]::ParameterValue, 'Show what a service''s (or a directory''s) build context sends')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print exactly what `deploy` would apply (Secret values redacted)')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Apply the rendered objects to the local cluster, wait for the rollout, explain failures')
            [CompletionResult]::new('smoke', 'smoke', [CompletionResultType]::ParameterValue, 'Build the images and run the stack on the local Docker daemon with Postgres: health endpoints and one round trip through the frontend, then remove it all')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the deployed project as the source plans'' checklists do: workloads Ready, HPA, volumes, image sizes, the printed address, sign-up and sign-in, the task API, each MCP tool over an MCP session, one chat turn within 5 s')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Remove what todo-dev created in the cluster (claims kept unless --purge)')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the logs of every pod of the services (all, or the ones named), each line prefixed by service and pod; -f follows new pods')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'The dev loop: `up`, then each save synced into the running pods or its service rebuilt and rolled (--dry-run: only say which)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Export the stack in another packaging format')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'List the profiles with a one-line summary each')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the effective configuration (profile + todo-dev.yaml + --set), secrets redacted')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'todo-dev;help;init' {
            break
        }
        'todo-dev;help;doctor' {
            break
        }
        'todo-dev;help;up' {
            break
        }
        'todo-dev;help;build' {
            break
        }
        'todo-dev;help;context' {
            break
        }
        'todo-dev;help;render' {
            break
        }
        'todo-dev;help;deploy' {
            break
        }
        'todo-dev;help;smoke' {
            break
        }
        'todo-dev;help;verify' {
            break
        }
        'todo-dev;help;down' {
            break
        }
        'todo-dev;help;logs' {
            break
        }
        'todo-dev;help;watch' {
            break
        }
        'todo-dev;help;export' {
            [CompletionResult]::new('helm', 'helm', [CompletionResultType]::ParameterValue, 'A Helm chart equal to `render` for the profile (helm template with default values gives the same objects)')
            break
        }
        'todo-dev;help;export;helm' {
            break
        }
        'todo-dev;help;profiles' {
            break
        }
        'todo-dev;help;config' {
            break
        }
        'todo-dev;help;completions' {
            break
        }
        'todo-dev;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
