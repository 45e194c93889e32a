# How tests/data/store_before_claims.sqlite (and its export, store_before_claims.jsonl) were
# made: with the code of commit 0262939, before premiums were recorded claims (R-PREM-9),
# when PremiumInvited was version 1 and the amount owed was read from the schedule.
set -e
Z() { ZORGKAS_TODAY=$1 ZORGKAS_NOW=${1}T10:00:00 python -m commands.cli "${@:2}"; }
# A: Flanders, affiliated 2020, invited 2023 and 2024 (the old reading: owes every year)
Z 2022-12-01 register 90020201187 --born 1990-02-02 --region flanders --health-fund CM --resident-since 1990-02-02 --on 2019-12-01
Z 2022-12-01 affiliate 90020201187 --fund CM --on 2020-01-02
# B: turns 26 in 2024, pays the invitation
Z 2024-01-02 register 98010100392 --born 1998-01-01 --region flanders --health-fund CM --resident-since 1998-01-01 --on 2024-01-02
Z 2023-01-15 run invitations --year 2023 --on 2023-01-15
Z 2024-01-15 run invitations --year 2024 --on 2024-01-15
Z 2024-03-02 pay 98010100392 --amount 62,00 --on 2024-03-02 --bank-ref BANK-2024-000123
Z 2024-03-03 pay 90020201187 --amount 58 --on 2024-03-03 --bank-ref BANK-2024-000124
Z 2024-08-20 run letters --year 2024 --on 2024-08-20
Z 2024-09-01 export store_before_claims.jsonl
