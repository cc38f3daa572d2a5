#!/bin/bash
# The main job on this machine: a local deployment of the example components
# through the dysnomia CLI, then packages deployed into a profile of this machine,
# with no SSH and nothing installed system-wide.
# Everything it makes lands in examples/hello-local/out (removed at the start).
set -euo pipefail
cd "$(dirname "$0")"
dysnomia() { node ../../packages/engine/bin/dysnomia.js "$@"; }
step() { printf '\n== %s\n' "$*"; }

rm -rf out
mkdir -p out

step "Modules this project can use"
dysnomia plugins | grep -E '^(TYPE|hello|journal) '

step "Activate two components in the 'www' container (plugin: dysnomia-plugin-hello)"
dysnomia --operation activate --component ./components/greeter --container www
dysnomia activate --component ./components/farewell --container www
for f in out/www/*.txt; do echo "$f: $(cat "$f")"; done

step "Activate again: nothing changes (activation is idempotent)"
dysnomia activate --component ./components/greeter --container www

step "Activate in the 'journal' container (a classic Dysnomia executable module)"
dysnomia activate --component ./components/greeter --container journal
cat out/journal.log

step "What the containers hold"
dysnomia-containers() { node ../../packages/engine/bin/dysnomia-containers.js "$@"; }
dysnomia-containers --query-activated-components
dysnomia capture --component ./components/greeter --container www

step "The machine as a Nix expression (dysnomia-containers --generate-expr)"
dysnomia-containers --generate-expr -C www
echo

step "Deactivate: the deployed file goes, the component is marked as garbage"
dysnomia deactivate --component ./components/farewell --container www
dysnomia deactivate --component ./components/greeter --container journal
ls out/www
ls out/state/garbage/www

step "Collect garbage"
dysnomia-containers --collect-garbage

step "Deploy packages into a profile on this machine (dysnomia deploy -i -P, in process, no SSH)"
dysnomia deploy -i infrastructure.mjs -P packages.mjs
machine=out/machine
"$machine/profiles/default/bin/hello"
"$machine/profiles/default/bin/motd"

step "Deploy the same models again: nothing is sent, no new generation"
dysnomia deploy -i infrastructure.mjs -P packages.mjs
dysnomia deploy -i infrastructure.mjs -P packages.mjs --list-generations

step "A changed package makes generation 2; rollback brings generation 1 back"
MOTD='A new message of the day' dysnomia deploy -i infrastructure.mjs -P packages.mjs
"$machine/profiles/default/bin/motd"
dysnomia deploy -i infrastructure.mjs -P packages.mjs --rollback
"$machine/profiles/default/bin/motd"

step "Deploy services to two machines (dysnomia deploy -s -i -d: the orchestrator, in process)"
export DYSNOMIA_STATEDIR="$PWD/out/coordinator"
deploy_services() { dysnomia deploy -s services.mjs -i infrastructure-services.mjs -d distribution.mjs --profile services "$@"; }
deploy_services
cat out/machine1/shelf.txt
sleep 1.5
echo "the clock on machine2 says $(cat out/machine2/clock.txt)"

step "The same models again: nothing to do"
deploy_services

step "Move the clock to machine1: only the clock is redeployed"
CLOCK_ON=machine1 deploy_services
sleep 1.5
echo "the clock on machine1 says $(cat out/machine1/clock.txt)"

step "The recorded deployments; roll back to the first"
deploy_services --list-generations
dysnomia deploy --profile services --rollback

step "Undeploy: every service deactivated, the clock stopped"
dysnomia deploy --profile services --undeploy
unset DYSNOMIA_STATEDIR

step "Done: activate, capture, deactivate, collect-garbage, packages deployed to a profile with rollback, and services deployed, moved, rolled back and undeployed"
