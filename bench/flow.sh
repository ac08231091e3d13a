#!/bin/sh
# One container, the way the seed did it (baselines A and A-parallel) or with an explicit target (baseline B).
#   flow.sh NAME IMAGE MAC TARGET WORKDIR PLAYBOOK
# TARGET "-" = LXD default placement, then the seed's `shuf` rebalance (stop, move, start).
# WORKDIR holds bootstrap.sh (rendered from provisioners/bootstrap_plan.debian_plan) and the
# static Ansible inventory (inventory/hosts.yml, written before any container exists).
# LXD_CONF points `lxc` at the cluster through the load balancer (remote "lab").
set -eu
instance="$1"; image="$2"; mac="$3"; target="$4"; workdir="$5"; playbook="$6"

address() {  # Terraform's lxd_container waits for the network before provisioners run; so do we.
  i=0
  while [ "$i" -lt 480 ]; do
    addr="$(lxc query "lab:/1.0/instances/$instance/state" \
      | jq -r '.network.eth0.addresses[]? | select(.family == "inet") | .address' | head -n1)"
    [ -n "$addr" ] && { echo "$addr"; return 0; }
    i=$((i + 1)); sleep 0.25
  done
  echo "no IPv4 address for $instance after 120 s; state:" >&2
  lxc info "lab:$instance" 2>&1 | head -n 12 >&2
  return 1
}

# --- terraform `lxd_container` create -------------------------------------------------------
if [ "$target" = "-" ]; then
  lxc launch "lab:$image" "lab:$instance" -c "volatile.eth0.hwaddr=$mac" >/dev/null
else
  lxc launch "lab:$image" "lab:$instance" -c "volatile.eth0.hwaddr=$mac" --target "$target" >/dev/null
fi
address >/dev/null

# --- the seed's provision_alpine.sh, on Debian ----------------------------------------------
if [ "$target" = "-" ]; then
  current_node="$(lxc info "lab:$instance" | awk '/Location: /{print $NF}')"
  target_node="$(lxc cluster ls lab: --format json | jq -r '.[].server_name' | shuf -n1)"
  # lxd crashes if you attempt a no-op move
  [ "$target_node" = "$current_node" ] || {
    echo "rebalancing $instance from $current_node to $target_node"
    lxc stop "lab:$instance"
    # LXD 5.0.2 sometimes fails a cluster move ("Error transferring instance data"); the seed had
    # no answer to that but a re-run. Two retries keep a benchmark run alive; each is counted.
    tries=0
    until lxc mv "lab:$instance" --target="$target_node" >/dev/null; do
      tries=$((tries + 1)); [ "$tries" -le 2 ] || exit 1
      echo "move retry $tries for $instance"; sleep 2
    done
    lxc start "lab:$instance"
  }
fi
addr="$(address)"
lxc exec "lab:$instance" -- sh -c "$(cat "$workdir/bootstrap.sh")" >"$workdir/logs/$instance.bootstrap.log" 2>&1 || {
  echo "bootstrap failed in $instance: $(tail -n 3 "$workdir/logs/$instance.bootstrap.log" | tr '\n' ' ')" >&2; exit 1; }
# The seed's inventory knew every host beforehand and DNS resolved it; the lab has no DNS, so the
# address lands in host_vars next to the pre-written inventory.
printf 'ansible_host: %s\n' "$addr" >"$workdir/inventory/host_vars/$instance.yml"
ansible-playbook -i "$workdir/inventory/hosts.yml" "$playbook" --limit="$instance" \
  >"$workdir/logs/$instance.ansible.log" 2>&1 || {
  echo "ansible-playbook failed for $instance: $(grep -m1 -o 'fatal: .*' "$workdir/logs/$instance.ansible.log" | cut -c1-300)" >&2
  exit 1; }
