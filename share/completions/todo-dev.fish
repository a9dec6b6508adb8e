# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_todo_dev_global_optspecs
    string join \n profile= project= set= json v/verbose registry= no-color h/help V/version
end

function __fish_todo_dev_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_todo_dev_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_todo_dev_using_subcommand
    set -l cmd (__fish_todo_dev_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c todo-dev -n "__fish_todo_dev_needs_command" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_needs_command" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_needs_command" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_needs_command" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_needs_command" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "init" -d 'Write the reference Todo chatbot and its todo-dev.yaml into a new or empty directory (--detect: a todo-dev.yaml for an existing repository)'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "doctor" -d 'Check that this machine can run the stack, and say how to fix what is missing'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "up" -d 'Start Minikube, build the images into its Docker daemon, deploy, and say where to open the app'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "build" -d 'Build the project\'s images (all enabled services, or the ones named)'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "context" -d 'Show what a service\'s (or a directory\'s) build context sends'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "render" -d 'Print exactly what `deploy` would apply (Secret values redacted)'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "deploy" -d 'Apply the rendered objects to the local cluster, wait for the rollout, explain failures'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "smoke" -d 'Build the images and run the stack on the local Docker daemon with Postgres: health endpoints and one round trip through the frontend, then remove it all'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "verify" -d 'Check the deployed project as the source plans\' checklists do: workloads Ready, HPA, volumes, image sizes, the printed address, sign-up and sign-in, the task API, each MCP tool over an MCP session, one chat turn within 5 s'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "down" -d 'Remove what todo-dev created in the cluster (claims kept unless --purge)'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "logs" -d 'Print the logs of every pod of the services (all, or the ones named), each line prefixed by service and pod; -f follows new pods'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "watch" -d 'The dev loop: `up`, then each save synced into the running pods or its service rebuilt and rolled (--dry-run: only say which)'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "export" -d 'Export the stack in another packaging format'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "profiles" -d 'List the profiles with a one-line summary each'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "config" -d 'Print the effective configuration (profile + todo-dev.yaml + --set), secrets redacted'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c todo-dev -n "__fish_todo_dev_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l frontend -d 'The app\'s frontend: the static SPA behind nginx, or Next.js (built with todo-dev\'s nextjs template)' -r -f -a "spa\t'The static single-page app behind nginx (no build step)'
next\t'Next.js (standalone output), built with todo-dev\'s nextjs template'"
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l force -d 'Replace files that already exist (init), or an existing todo-dev.yaml (--detect)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l detect -d 'Write only a todo-dev.yaml for the repository already there, saying what was found and why'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand init" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -l timeout -d 'Seconds each probe may take before it counts as not answering' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l context -d 'Kube context to use [default: the project\'s Minikube cluster, never just the current context]' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l timeout -d 'Seconds to wait for each rollout' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l recreate -d 'Delete this Deployment or StatefulSet before deploying and create it anew (claims are kept) (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l ui-port -d 'The status page\'s port (0: any free one; a busy one moves to a free one)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l allow-remote -d 'Allow a context that is not a local cluster (needs --context NAME too)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l force -d 'Rebuild images even when Minikube\'s daemon already has them'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l port-forward -d 'Then forward the frontend and the backend to 127.0.0.1 through the Kubernetes API, until Ctrl-C'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l ui -d 'Serve the live status page on 127.0.0.1 from the start, and keep it (rebuild, restart and verify buttons) until Ctrl-C'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand up" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -l force -d 'Build even when the daemon already has the image for these inputs'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand build" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -l list -d 'One path per line, relative to the context root, files only, sorted'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -l size -d 'The total size and the biggest directories first'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand context" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -s o -l output -d 'Output format' -r -f -a "yaml\t''
json\t''"
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -l show-secrets -d 'Show Secret values instead of <redacted>'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -l values -d 'Print the values tree the manifests are filled from, instead of the objects'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand render" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l context -d 'Kube context to use [default: the project\'s Minikube cluster, never just the current context]' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l timeout -d 'Seconds to wait for each rollout' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l recreate -d 'Delete this Deployment or StatefulSet first and create it anew (for a field Kubernetes cannot change in place; claims are kept) (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l allow-remote -d 'Allow a context that is not a local cluster (needs --context NAME too)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand deploy" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l timeout -d 'Seconds every service together may take to answer its health endpoints' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l postgres-image -d 'Postgres image to run the database from' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l redis-image -d 'Redis image, for profiles with Redis' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l keep -d 'When every check passes, leave the stack running and print its addresses (remove it by the run\'s label)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand smoke" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l context -d 'Kube context to use [default: the project\'s Minikube cluster, never just the current context]' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l url -d 'Check the app at this address only (the frontend, whose /api/ proxy reaches the backend), not the project\'s cluster' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l backend-url -d 'With --url: the backend\'s own address, to check its probes\' /health and /ready too' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l mcp-url -d 'With --url: the MCP server\'s streamable HTTP endpoint (profiles full and agents), e.g. http://HOST:8001/mcp' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l auth-secret -d 'With --url: the deployment\'s signing secret, to make the short-lived user token the MCP tools take (on the cluster it is read from todo-secrets)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l allow-remote -d 'Allow a context that is not a local cluster (needs --context NAME too)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l disruptive -d 'Also delete a backend pod (its replacement Ready within 60 s) and the database\'s pods (a marker task kept); never by default'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand verify" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l context -d 'Kube context to use [default: the project\'s Minikube cluster, never just the current context]' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l timeout -d 'Seconds to wait for objects to be gone' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l allow-remote -d 'Allow a context that is not a local cluster (needs --context NAME too)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l purge -d 'Also delete the PersistentVolumeClaims (the data) and the namespace, if todo-dev created it'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l stop -d 'Then stop the Minikube cluster (`minikube stop`; it keeps its state for the next `up`)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l delete-cluster -d 'Delete the whole Minikube cluster instead (`minikube delete`: everything in it, all data)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -s y -l yes -d 'Do not ask before --delete-cluster (needed when not on a terminal)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand down" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l since -d 'Only lines newer than this: 30s, 5m, 2h' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l tail -d 'Only the last N lines of each container' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l context -d 'Kube context to use [default: the project\'s Minikube cluster, never just the current context]' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -s f -l follow -d 'Keep following: new pods are attached, ended ones detached, until Ctrl-C'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l allow-remote -d 'Allow a context that is not a local cluster (needs --context NAME too)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand logs" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l context -d 'Kube context to use [default: the project\'s Minikube cluster, never just the current context]' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l timeout -d 'Seconds to wait for each rollout (the first `up` and every change)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l ui-port -d 'The status page\'s port (0: any free one; a busy one moves to a free one)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l allow-remote -d 'Allow a context that is not a local cluster (needs --context NAME too)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l dry-run -d 'Only report each change set (service, sync or rebuild, paths); needs no cluster and no Docker'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l logs -d 'Also print the logs of every pod, following replacements (as `logs -f`)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l port-forward -d 'Forward the frontend and the backend to 127.0.0.1 (the default)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l no-port-forward -d 'Do not forward any port'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l no-ui -d 'Do not serve the live status page'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand watch" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -f -a "helm" -d 'A Helm chart equal to `render` for the profile (helm template with default values gives the same objects)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and not __fish_seen_subcommand_from helm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from helm" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "helm" -d 'A Helm chart equal to `render` for the profile (helm template with default values gives the same objects)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand profiles" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand config" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -l profile -d 'Profile to use (see `todo-dev profiles`); overrides todo-dev.yaml' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -l project -d 'Project directory [default: nearest directory upward with todo-dev.yaml, else the current one]' -r -F
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -l set -d 'Override one configuration value, e.g. --set services.backend.replicas=3 (repeatable)' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -l registry -d 'Push images to this registry (HOST[:PORT][/PATH]) for the cluster to pull; same as --set deploy.registry=...' -r
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -l json -d 'Machine-readable output on stdout'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -s v -l verbose -d 'More detail where a command has it (today: `doctor` adds what each check found)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -l no-color -d 'No colours (also when NO_COLOR is set)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -s h -l help -d 'Print help'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand completions" -s V -l version -d 'Print version'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "init" -d 'Write the reference Todo chatbot and its todo-dev.yaml into a new or empty directory (--detect: a todo-dev.yaml for an existing repository)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "doctor" -d 'Check that this machine can run the stack, and say how to fix what is missing'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "up" -d 'Start Minikube, build the images into its Docker daemon, deploy, and say where to open the app'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "build" -d 'Build the project\'s images (all enabled services, or the ones named)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "context" -d 'Show what a service\'s (or a directory\'s) build context sends'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "render" -d 'Print exactly what `deploy` would apply (Secret values redacted)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "deploy" -d 'Apply the rendered objects to the local cluster, wait for the rollout, explain failures'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "smoke" -d 'Build the images and run the stack on the local Docker daemon with Postgres: health endpoints and one round trip through the frontend, then remove it all'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "verify" -d 'Check the deployed project as the source plans\' checklists do: workloads Ready, HPA, volumes, image sizes, the printed address, sign-up and sign-in, the task API, each MCP tool over an MCP session, one chat turn within 5 s'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "down" -d 'Remove what todo-dev created in the cluster (claims kept unless --purge)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "logs" -d 'Print the logs of every pod of the services (all, or the ones named), each line prefixed by service and pod; -f follows new pods'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "watch" -d 'The dev loop: `up`, then each save synced into the running pods or its service rebuilt and rolled (--dry-run: only say which)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "export" -d 'Export the stack in another packaging format'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "profiles" -d 'List the profiles with a one-line summary each'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "config" -d 'Print the effective configuration (profile + todo-dev.yaml + --set), secrets redacted'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and not __fish_seen_subcommand_from init doctor up build context render deploy smoke verify down logs watch export profiles config completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c todo-dev -n "__fish_todo_dev_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "helm" -d 'A Helm chart equal to `render` for the profile (helm template with default values gives the same objects)'
