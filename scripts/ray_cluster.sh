#!/usr/bin/env bash
# ray_cluster.yaml on AWS with inbound access limited to the operator's network.
#
#   export SRA_SEARCH_ADMIN_CIDR=203.0.113.7/32   # who may SSH to the nodes; 0.0.0.0/0 and ::/0 are refused
#   scripts/ray_cluster.sh security-group         # create (or reuse) the group; prints its id
#   export SRA_SEARCH_SECURITY_GROUP_ID=sg-...
#   scripts/ray_cluster.sh up | down | dashboard  # ray up/down/dashboard on a copy with the id filled in
#   scripts/ray_cluster.sh render                 # print the path of that copy
#
# The group allows SSH (22/tcp) from SRA_SEARCH_ADMIN_CIDR and every port from its own members
# (Ray's GCS, raylets, object manager, dashboard between nodes) and nothing else: the dashboard
# and the storage are reached through `ray dashboard`'s SSH tunnel. Ray's own default group would
# open SSH to 0.0.0.0/0, which is why every node type names this one. Needs the AWS CLI and
# credentials; the region is ray_cluster.yaml's (override with AWS_REGION).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
config=${SRA_SEARCH_CLUSTER_CONFIG:-$here/ray_cluster.yaml}
group_name=${SRA_SEARCH_SECURITY_GROUP_NAME:-sra-search-cluster}
py=${PYTHON:-python3}

region() {
    if [ -n "${AWS_REGION:-}" ]; then echo "$AWS_REGION"; return; fi
    "$py" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["provider"]["region"])' "$config"
}

check_cidr() {
    local cidr=${SRA_SEARCH_ADMIN_CIDR:-}
    case "$cidr" in
        "") echo "ray_cluster: set SRA_SEARCH_ADMIN_CIDR to the network allowed to SSH in (e.g. your IP/32)" >&2; exit 2 ;;
        0.0.0.0/0|::/0) echo "ray_cluster: SRA_SEARCH_ADMIN_CIDR=$cidr would open SSH to everyone; give your network" >&2; exit 2 ;;
    esac
    "$py" -c 'import ipaddress, sys; ipaddress.ip_network(sys.argv[1], strict=False)' "$cidr" 2>/dev/null \
        || { echo "ray_cluster: SRA_SEARCH_ADMIN_CIDR=$cidr is not a CIDR block" >&2; exit 2; }
}

security_group() {
    check_cidr
    local r vpc sg
    r=$(region)
    vpc=${SRA_SEARCH_VPC_ID:-$(aws ec2 describe-vpcs --region "$r" --filters Name=isDefault,Values=true \
        --query 'Vpcs[0].VpcId' --output text)}
    sg=$(aws ec2 describe-security-groups --region "$r" --filters Name=group-name,Values="$group_name" \
        Name=vpc-id,Values="$vpc" --query 'SecurityGroups[0].GroupId' --output text)
    if [ "$sg" = None ] || [ -z "$sg" ]; then
        sg=$(aws ec2 create-security-group --region "$r" --vpc-id "$vpc" --group-name "$group_name" \
            --description "sra-search Ray cluster: SSH from the operator, all ports within the group" \
            --query GroupId --output text)
        # A new group allows nothing inbound; add exactly two rules.
        aws ec2 authorize-security-group-ingress --region "$r" --group-id "$sg" \
            --ip-permissions "IpProtocol=-1,UserIdGroupPairs=[{GroupId=$sg}]" >/dev/null
    fi
    # Idempotent: a rule that exists already is reported as a duplicate and ignored.
    aws ec2 authorize-security-group-ingress --region "$r" --group-id "$sg" --protocol tcp --port 22 \
        --cidr "$SRA_SEARCH_ADMIN_CIDR" >/dev/null 2>&1 || true
    echo "$sg"
}

render() {
    local sg=${SRA_SEARCH_SECURITY_GROUP_ID:-}
    [[ "$sg" =~ ^sg-[0-9a-f]+$ ]] || { echo "ray_cluster: set SRA_SEARCH_SECURITY_GROUP_ID (run: $0 security-group)" >&2; exit 2; }
    local out=${SRA_SEARCH_RENDERED_CONFIG:-$HOME/.sra-search/ray_cluster.yaml}
    mkdir -p "$(dirname "$out")"
    # Only the group id is substituted: every other "$VAR" in the file is for the nodes' shells.
    sed "s/\${SRA_SEARCH_SECURITY_GROUP_ID}/$sg/g" "$config" >"$out"
    echo "$out"
}

cmd=${1:-}
case "$cmd" in
security-group) security_group ;;
render) render ;;
up) f=$(render); cd "$here" && ray up -y "$f" ;;   # file_mounts "." is the repository
down) f=$(render); cd "$here" && ray down -y "$f" ;;
dashboard) f=$(render); cd "$here" && ray dashboard "$f" ;;
*) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
