// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {PaymentVault} from "../../../contracts/PaymentVault.sol";
import {IPaymentVault} from "../../../contracts/interfaces/IPaymentVault.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {MockTetherToken} from "../../../contracts/mocks/MockTetherToken.sol";

/**
 * @notice Invariant handler (Solady ERC20-invariant style): every public function is one bounded, random,
 * non-reverting action against the vault, and keeps ghost sums and a per-merchant model of the ledger.
 *
 * The model is independent of the vault's ledger: `pending[salt][token]` is what payers sent to each
 * deposit address and no sweep took yet; a sweep's expected credit per merchant is computed from it and
 * from each token's own transfer fee (1% burnt for the fee-on-transfer mock; USDT's basis points capped by
 * its maximum fee; none for USDC and the native coin), less the merchant's current fee, and an address
 * USDT blacklisted is expected to be skipped. The vault's ledger is then compared with the model.
 *
 * Ghosts per token:
 *  - ghostReceived: what sweeps moved into the vault (the model's arrivals, checked against the vault's
 *    balance change);
 *  - ghostDirect: what was sent straight to the vault (an adversary's "donation"; never credited);
 *  - ghostFeesAccrued: the platform fee the model computed (floor(credit * feeBps / 10_000) per group);
 *  - ghostPaidOut: sum of executed payout amounts;
 *  - ghostFeesClaimed: sum of claimed fees.
 * Per merchant and token: modelBalance / modelFees, updated only from the model.
 *
 * Actions besides the honest ones: pause and unpause, allowlist removal and re-adding, USDT blacklisting of
 * deposit addresses, payout ids that jump ranges (and old ids paid later), batches with items that must be
 * skipped, relays, and an adversarial merchant (forged payouts for other merchants, rescues from undeployed
 * addresses, cancelling ids, donations to the vault) whose every attempt must fail or change nothing owed.
 * `violations` counts every observed breach of "a merchant's balance only decreases through a payout it
 * signed" and of exact per-call accounting; the invariant test asserts it stays zero.
 */
contract VaultHandler is Test {
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 internal constant MAX_MERCHANTS = 5;
    uint256 internal constant MAX_SALTS = 16;
    address internal constant NATIVE = address(0);

    PaymentVault public vault;
    address public admin;
    address public operator;
    MockTetherToken public usdt;
    address[4] internal _tokenList;
    address[3] internal _recipients;
    address internal _payer;

    uint64[] public merchantIds;
    mapping(uint64 => uint256) public signerKey;
    mapping(uint64 => uint256) public nextPayoutId;
    uint256[] public salts;
    mapping(uint256 => bool) internal _knownSalt;

    mapping(address => uint256) public ghostReceived;
    mapping(address => uint256) public ghostDirect;
    /// @dev What payers sent to each deposit address that no sweep took yet, per token.
    mapping(uint256 salt => mapping(address token => uint256)) public pending;
    /// @dev Every payout id the handler paid or cancelled (the model of isPayoutIdUsed), and the ids it issued.
    mapping(uint64 => mapping(uint256 => bool)) public idUsed;
    mapping(uint64 => uint256[]) internal _issuedIds;
    mapping(uint64 => uint16) public feeOf;
    bool public paused;
    mapping(address => bool) public disallowed;
    mapping(address => uint256) public ghostFeesAccrued;
    mapping(address => uint256) public ghostPaidOut;
    mapping(address => uint256) public ghostFeesClaimed;
    mapping(uint64 => mapping(address => uint256)) public modelBalance;
    mapping(uint64 => mapping(address => uint256)) public modelFees;

    uint256 public violations;
    string public lastViolation;
    mapping(string => uint256) public calls;

    constructor(PaymentVault vault_, address admin_, address operator_, address[4] memory tokens_, MockTetherToken usdt_) {
        vault = vault_;
        admin = admin_;
        operator = operator_;
        _tokenList = tokens_;
        usdt = usdt_;
        _recipients = [makeAddr("alice"), makeAddr("bob"), makeAddr("carol")];
        _payer = makeAddr("handlerPayer");
    }

    // ============================================================ views for the invariant test

    function merchantCount() external view returns (uint256) {
        return merchantIds.length;
    }

    function tokens() external view returns (address[4] memory) {
        return _tokenList;
    }

    // ============================================================ guard: no unauthorised decrease

    struct Snapshot {
        uint256[4][MAX_MERCHANTS] balance;
        uint256[4][MAX_MERCHANTS] fees;
    }

    function _snapshot() internal view returns (Snapshot memory s) {
        for (uint256 i; i < merchantIds.length; ++i) {
            for (uint256 t; t < 4; ++t) {
                (s.balance[i][t], s.fees[i][t]) = vault.accountOf(merchantIds[i], _tokenList[t]);
            }
        }
    }

    /// @dev After every action: no balance went down except `(payer, token)` by exactly `amount`.
    /// Fees may only go down through claimFees (`feesMayDrop`).
    function _checkNoUnauthorisedDecrease(
        Snapshot memory before,
        uint64 payoutMerchant,
        address payoutToken,
        uint256 payoutAmount,
        bool feesMayDrop
    ) internal {
        Snapshot memory afterS = _snapshot();
        for (uint256 i; i < merchantIds.length; ++i) {
            for (uint256 t; t < 4; ++t) {
                uint256 expectedMin = before.balance[i][t];
                if (merchantIds[i] == payoutMerchant && _tokenList[t] == payoutToken) expectedMin -= payoutAmount;
                if (afterS.balance[i][t] < expectedMin) _violation("merchant balance decreased without its payout");
                if (!feesMayDrop && afterS.fees[i][t] < before.fees[i][t]) _violation("fees decreased outside claimFees");
            }
        }
    }

    function _violation(string memory what) internal {
        ++violations;
        lastViolation = what;
    }

    // ============================================================ actions

    function registerMerchant(uint256 idSeed, uint256 keySeed, uint256 feeSeed) external {
        if (merchantIds.length == MAX_MERCHANTS) return;
        // Merchant ids anywhere in uint64 (the top bits of the salt), but sometimes small.
        uint64 id = idSeed % 2 == 0 ? uint64(_bound(idSeed, 1, 1_000)) : uint64(_bound(idSeed, 1, type(uint64).max));
        if (signerKey[id] != 0) return;
        uint256 pk = _bound(keySeed, 1, SECP256K1_N - 1);
        uint16 fee = uint16(_bound(feeSeed, 0, vault.MAX_FEE_BPS()));
        Snapshot memory before = _snapshot();
        vm.prank(admin);
        vault.registerMerchant(id, vm.addr(pk), fee);
        merchantIds.push(id);
        signerKey[id] = pk;
        feeOf[id] = fee;
        nextPayoutId[id] = 1;
        ++calls["registerMerchant"];
        _checkNoUnauthorisedDecrease(before, 0, address(1), 0, false);
    }

    /// @dev A payer sends a token (or the native coin) to a deposit address of a random merchant.
    function payDepositAddress(uint256 merchantSeed, uint256 keySeed, uint256 tokenSeed, uint256 amount) external {
        if (merchantIds.length == 0) return;
        uint64 id = merchantIds[merchantSeed % merchantIds.length];
        IPaymentVault.DepositKind kind =
            keySeed & 1 == 0 ? IPaymentVault.DepositKind.Payment : IPaymentVault.DepositKind.Recharge;
        // Mostly a few small keys (so addresses get paid again after their first sweep), sometimes any key.
        uint256 key = (keySeed >> 1) % 4 == 0 ? uint256(uint184(keySeed >> 8)) : (keySeed >> 1) % 3;
        uint256 salt = vault.depositSalt(id, kind, key);
        address depositAddress = vault.predictDepositAddress(id, kind, key);
        if (!_knownSalt[salt]) {
            if (salts.length == MAX_SALTS) return;
            _knownSalt[salt] = true;
            salts.push(salt);
        }
        address token = _tokenList[tokenSeed % 4];
        if (token == NATIVE) {
            amount = _bound(amount, 1, 1e24);
            pending[salt][token] += amount;
            vm.deal(_payer, amount);
            vm.prank(_payer);
            (bool ok,) = depositAddress.call{value: amount}("");
            require(ok, "native payment refused");
        } else if (token == address(usdt)) {
            amount = _bound(amount, 1, 1e27);
            usdt.mint(depositAddress, amount);
            pending[salt][token] += amount;
        } else {
            amount = _bound(amount, 1, 1e27);
            MockERC20(token).mint(depositAddress, amount);
            pending[salt][token] += amount;
        }
        ++calls["payDepositAddress"];
    }

    /// @dev The operator sweeps a random subset of the known deposit addresses for one token, grouped by
    /// merchant, with DEPLOY_FLAG set exactly on the addresses that have no code yet, passing the amounts it
    /// read (or none). The expected credit of each merchant comes from the model, not from the vault.
    function sweep(uint256 tokenSeed, uint256 subsetMask, bool passAmounts) external {
        uint256[] memory entries = _entries(subsetMask);
        if (entries.length == 0) return;
        // Start at a random token and take the first that one of the chosen addresses holds.
        tokenSeed %= 4;
        uint256 t = tokenSeed;
        for (uint256 k; k < 4 && !_anyHolds(_tokenList[(tokenSeed + k) % 4], entries); ++k) {
            t = (tokenSeed + k + 1) % 4;
        }
        address token = _tokenList[t];
        uint256[] memory amounts = new uint256[](passAmounts ? entries.length : 0);
        for (uint256 i; i < amounts.length; ++i) {
            amounts[i] = pending[entries[i] & ~vault.DEPLOY_FLAG()][token];
        }
        if (paused || disallowed[token]) {
            vm.expectRevert();
            vm.prank(operator);
            vault.sweep(token, entries, amounts);
            return;
        }
        Snapshot memory before = _snapshot();
        uint256 vaultBefore = _balanceOf(token, address(vault));
        (uint256 arrived, uint256[MAX_MERCHANTS] memory credit) = _expectedCredits(token, entries);
        vm.prank(operator);
        vault.sweep(token, entries, amounts);
        if (_balanceOf(token, address(vault)) != vaultBefore + arrived) _violation("sweep: vault balance != model");
        ghostReceived[token] += arrived;
        _bookCredits(t, before, credit);
        _checkNoUnauthorisedDecrease(before, 0, address(1), 0, false);
        ++calls["sweep"];
    }

    /// @dev The model's arrivals for the entries (token transfer fees applied per address, blacklisted
    /// addresses skipped) and each merchant's credit; clears what it expects taken from `pending`.
    function _expectedCredits(address token, uint256[] memory entries)
        internal
        returns (uint256 arrived, uint256[MAX_MERCHANTS] memory credit)
    {
        for (uint256 i; i < entries.length; ++i) {
            uint256 salt = entries[i] & ~vault.DEPLOY_FLAG();
            uint256 sent = pending[salt][token];
            if (sent == 0) continue;
            if (token == address(usdt) && usdt.isBlackListed(_address(salt))) continue; // skipped: stays
            uint256 got = sent;
            if (token == _tokenList[1]) got = sent - (sent * 100) / 10_000; // the 1% fee-on-transfer mock
            if (token == address(usdt)) {
                uint256 fee = (sent * usdt.basisPointsRate()) / 10_000;
                if (fee > usdt.maximumFee()) fee = usdt.maximumFee();
                got = sent - fee;
            }
            pending[salt][token] = 0;
            arrived += got;
            credit[_merchantIndex(uint64(salt >> 192))] += got;
        }
    }

    /// @dev Checks each merchant's ledger change against the model's credit and books it in the model.
    function _bookCredits(uint256 t, Snapshot memory before, uint256[MAX_MERCHANTS] memory credit) internal {
        address token = _tokenList[t];
        for (uint256 m; m < merchantIds.length; ++m) {
            uint64 id = merchantIds[m];
            uint256 fee = (credit[m] * feeOf[id]) / 10_000;
            modelBalance[id][token] += credit[m] - fee;
            modelFees[id][token] += fee;
            ghostFeesAccrued[token] += fee;
            (uint256 bal, uint256 fees) = vault.accountOf(id, token);
            if (bal != before.balance[m][t] + credit[m] - fee) _violation("sweep credited a merchant != model");
            if (fees != before.fees[m][t] + fee) _violation("sweep accrued a fee != model");
        }
    }

    function _merchantIndex(uint64 id) internal view returns (uint256 m) {
        while (merchantIds[m] != id) ++m;
    }

    function _anyHolds(address token, uint256[] memory entries) internal view returns (bool) {
        for (uint256 i; i < entries.length; ++i) {
            if (_balanceOf(token, _address(entries[i] & ~vault.DEPLOY_FLAG())) != 0) return true;
        }
        return false;
    }

    /// @dev The known salts selected by `mask`, grouped by merchant, flagged iff their address has no code.
    function _entries(uint256 mask) internal view returns (uint256[] memory entries) {
        uint256 n = salts.length;
        entries = new uint256[](n);
        uint256 count;
        for (uint256 m; m < merchantIds.length; ++m) {
            for (uint256 i; i < n; ++i) {
                if ((mask >> i) & 1 == 0 || uint64(salts[i] >> 192) != merchantIds[m]) continue;
                entries[count++] = _address(salts[i]).code.length == 0 ? salts[i] | vault.DEPLOY_FLAG() : salts[i];
            }
        }
        assembly ("memory-safe") {
            mstore(entries, count)
        }
    }

    /// @dev A payout of a random amount of a merchant's balance, by one of four routes: the signer itself,
    /// a signature relayed by anyone, a signed batch (with a second item that cannot be paid and must be
    /// skipped), or a relay. Ids jump ahead by up to 150 (moving the slot's 64-id range) and sometimes an id
    /// jumped over earlier is paid late: it must still be payable. An id the adversary cancelled must fail.
    function payout(
        uint256 merchantSeed,
        uint256 tokenSeed,
        uint256 amountSeed,
        uint256 idSkip,
        uint256 toSeed,
        uint8 route,
        address relayer
    ) external {
        uint256 m = merchantIds.length;
        if (m == 0) return;
        // From a random (merchant, token), take the first pair with a balance.
        uint64 id;
        address token;
        uint256 bal;
        merchantSeed %= m;
        tokenSeed %= 4;
        for (uint256 k; k < 4 * m && bal == 0; ++k) {
            id = merchantIds[(merchantSeed + k / 4) % m];
            token = _tokenList[(tokenSeed + k) % 4];
            bal = modelBalance[id][token];
        }
        if (bal == 0) return;
        IPaymentVault.Payout memory p = IPaymentVault.Payout({
            merchantId: id,
            kind: IPaymentVault.PayoutKind(toSeed % 3),
            token: token,
            to: _recipients[toSeed % 3],
            amount: _bound(amountSeed, 1, bal),
            payoutId: _nextId(id, idSkip),
            deadline: uint64(block.timestamp + (toSeed % 1000))
        });
        if (relayer == address(0) || relayer == address(vault)) relayer = address(this);
        bool willPay = !paused && !idUsed[id][p.payoutId];
        Snapshot memory before = _snapshot();
        uint256 vaultBefore = _balanceOf(token, address(vault));
        _send(p, route % 4, relayer, willPay);
        uint256 paid = willPay ? p.amount : 0;
        if (vaultBefore - _balanceOf(token, address(vault)) != paid) _violation("payout moved a different amount");
        (uint256 balAfter,) = vault.accountOf(id, token);
        if (balAfter != bal - paid) _violation("payout debited a different amount");
        if (!vault.isPayoutIdUsed(id, p.payoutId) && (willPay || idUsed[id][p.payoutId])) _violation("id not used");
        if (willPay) {
            idUsed[id][p.payoutId] = true;
            ghostPaidOut[token] += paid;
            modelBalance[id][token] -= paid;
        }
        _checkNoUnauthorisedDecrease(before, id, token, paid, false);
        ++calls["payout"];
    }

    /// @dev The next id: ahead of the merchant's sequence by 0..150, or (one time in four) an id jumped over
    /// before and still unpaid.
    function _nextId(uint64 id, uint256 idSkip) internal returns (uint256 payoutId) {
        uint256[] storage issued = _issuedIds[id];
        if (idSkip % 4 == 0 && issued.length != 0) {
            payoutId = issued[(idSkip >> 8) % issued.length];
            if (payoutId + 1 < nextPayoutId[id] && !idUsed[id][payoutId + 1]) return payoutId + 1;
        }
        payoutId = nextPayoutId[id] + _bound(idSkip >> 16, 0, 150);
        nextPayoutId[id] = payoutId + 1;
        if (issued.length < 64) issued.push(payoutId);
    }

    function _send(IPaymentVault.Payout memory p, uint256 route, address relayer, bool willPay) internal {
        uint256 pk = signerKey[p.merchantId];
        bytes memory used = abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, p.merchantId, p.payoutId);
        if (route == 0) {
            if (!willPay) vm.expectRevert(paused ? abi.encodeWithSignature("EnforcedPause()") : used);
            vm.prank(vm.addr(pk));
            vault.payoutByMerchant(p);
        } else if (route == 1) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, vault.hashPayout(p));
            if (!willPay) vm.expectRevert(paused ? abi.encodeWithSignature("EnforcedPause()") : used);
            vm.prank(relayer);
            vault.payout(p, abi.encodePacked(r, s, v));
        } else {
            // A batch of this payout and one that asks for more than the whole balance (must be skipped).
            IPaymentVault.PayoutBatch memory b;
            b.merchantId = p.merchantId;
            b.deadline = p.deadline;
            b.payouts = new IPaymentVault.PayoutItem[](2);
            b.payouts[0] = IPaymentVault.PayoutItem(p.kind, p.token, p.to, p.amount, p.payoutId);
            b.payouts[1] = IPaymentVault.PayoutItem(p.kind, p.token, p.to, type(uint128).max, p.payoutId + 1_000_000);
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, vault.hashPayoutBatch(b));
            if (paused) vm.expectRevert(abi.encodeWithSignature("EnforcedPause()"));
            vm.prank(relayer);
            if (route == 2) {
                vault.payoutBatch(b, abi.encodePacked(r, s, v));
            } else {
                IPaymentVault.SignedPayoutBatch[] memory batches = new IPaymentVault.SignedPayoutBatch[](1);
                batches[0] = IPaymentVault.SignedPayoutBatch(b, abi.encodePacked(r, s, v));
                vault.relayPayouts(new IPaymentVault.SignedPayout[](0), batches);
            }
            if (vault.isPayoutIdUsed(p.merchantId, p.payoutId + 1_000_000) && !idUsed[p.merchantId][p.payoutId + 1_000_000]) {
                _violation("an item over the balance was paid");
            }
        }
    }

    // ============================================================ adversaries and operations

    /// @dev A merchant's signer attacks: a payout of another merchant's balance signed with its own key
    /// (direct and relayed), a rescue from one of its undeployed addresses (which used to deploy it under a
    /// flagged sweep), cancelling one of its own future ids, and a donation straight to the vault. Nothing
    /// owed to anyone may change, and the forged payout must not pay.
    function merchantAttack(uint256 attackerSeed, uint256 victimSeed, uint256 amount, uint256 keySeed) external {
        uint256 m = merchantIds.length;
        if (m < 2) return;
        uint64 attacker = merchantIds[attackerSeed % m];
        uint64 victim = merchantIds[victimSeed % m];
        if (attacker == victim) victim = merchantIds[(victimSeed % m + 1) % m];
        address token = _tokenList[keySeed % 4];
        Snapshot memory before = _snapshot();
        _forgePayout(attacker, victim, token, amount);
        _rescueUndeployed(attacker, keySeed);
        _cancelAhead(attacker, keySeed);
        // A donation straight to the vault is never credited to anyone.
        if (token != NATIVE) {
            uint256 gift = _bound(amount, 1, 1e20);
            MockERC20(token).mint(address(vault), gift); // MockTetherToken has the same mint(address,uint256)
            ghostDirect[token] += gift;
        }
        _checkNoUnauthorisedDecrease(before, 0, address(1), 0, false);
        for (uint256 i; i < merchantIds.length; ++i) {
            for (uint256 t; t < 4; ++t) {
                (uint256 bal, uint256 fees) = vault.accountOf(merchantIds[i], _tokenList[t]);
                if (bal != before.balance[i][t] || fees != before.fees[i][t]) _violation("an attack changed a ledger");
            }
        }
        ++calls["merchantAttack"];
    }

    /// @dev A payout of the victim's balance signed with the attacker's key, sent and relayed: refused.
    function _forgePayout(uint64 attacker, uint64 victim, address token, uint256 amount) internal {
        IPaymentVault.Payout memory p = IPaymentVault.Payout({
            merchantId: victim,
            kind: IPaymentVault.PayoutKind.Withdrawal,
            token: token,
            to: vm.addr(signerKey[attacker]),
            amount: _bound(amount, 1, 1e30),
            payoutId: nextPayoutId[victim] + 200_000,
            deadline: uint64(block.timestamp + 1)
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey[attacker], vault.hashPayout(p));
        vm.expectRevert();
        vault.payout(p, abi.encodePacked(r, s, v));
        IPaymentVault.SignedPayout[] memory forged = new IPaymentVault.SignedPayout[](1);
        forged[0] = IPaymentVault.SignedPayout(p, abi.encodePacked(r, s, v));
        if (paused) vm.expectRevert();
        vault.relayPayouts(forged, new IPaymentVault.SignedPayoutBatch[](0));
        if (vault.isPayoutIdUsed(victim, p.payoutId)) _violation("a forged payout used the victim's id");
    }

    /// @dev A rescue from one of the attacker's addresses that has no code: refused (only the operator deploys).
    function _rescueUndeployed(uint64 attacker, uint256 keySeed) internal {
        uint256 salt = vault.depositSalt(attacker, IPaymentVault.DepositKind.Payment, 1_000 + (keySeed % 1_000));
        if (_address(salt).code.length != 0) return;
        address signer = vm.addr(signerKey[attacker]);
        vm.expectRevert();
        vm.prank(signer);
        vault.rescueDepositToken(salt, address(0xdead), signer, 0);
        if (_address(salt).code.length != 0) _violation("a merchant deployed a deposit address");
    }

    /// @dev The attacker cancels one of its own ids ahead of its sequence: a later payout of it must fail.
    function _cancelAhead(uint64 attacker, uint256 keySeed) internal {
        uint256 cancelId = nextPayoutId[attacker] + (keySeed % 40);
        if (idUsed[attacker][cancelId]) vm.expectRevert();
        vm.prank(vm.addr(signerKey[attacker]));
        vault.cancelPayout(attacker, cancelId);
        idUsed[attacker][cancelId] = true;
    }

    /// @dev The pauser pauses or unpauses.
    function togglePause() external {
        vm.prank(admin);
        if (paused) vault.unpause();
        else vault.pause();
        paused = !paused;
        ++calls["togglePause"];
    }

    /// @dev The merchant admin removes a token from the allowlist or allows it again (balances stay payable).
    function toggleAllowed(uint256 tokenSeed) external {
        address token = _tokenList[tokenSeed % 4];
        vm.prank(admin);
        vault.setTokenAllowed(token, disallowed[token]);
        disallowed[token] = !disallowed[token];
        ++calls["toggleAllowed"];
    }

    /// @dev USDT's owner blacklists (or clears) a known deposit address: its USDT sweeps must be skipped.
    function blacklistDepositAddress(uint256 saltSeed, bool on) external {
        if (salts.length == 0) return;
        address a = _address(salts[saltSeed % salts.length]);
        vm.startPrank(usdt.owner());
        if (on) usdt.addBlackList(a);
        else usdt.removeBlackList(a);
        vm.stopPrank();
        ++calls["blacklistDepositAddress"];
    }

    /// @dev Anyone claims the fees of a random subset of merchants (with repeats) in one token.
    function claimFees(uint256 tokenSeed, uint256 mask, address caller) external {
        uint256 m = merchantIds.length;
        if (m == 0) return;
        // From a random token, take the first in which some merchant has accrued fees.
        tokenSeed %= 4;
        address token = _tokenList[tokenSeed];
        for (uint256 k; k < 4 && _totalFees(token) == 0; ++k) {
            token = _tokenList[(tokenSeed + k + 1) % 4];
        }
        uint64[] memory ids = new uint64[](m + 1);
        uint256 total;
        uint256 count;
        for (uint256 i; i < m; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            ids[count++] = merchantIds[i];
            total += modelFees[merchantIds[i]][token];
        }
        if (count == 0) return;
        ids[count++] = ids[0]; // a repeated id must not be paid twice
        assembly ("memory-safe") {
            mstore(ids, count)
        }
        if (total == 0 || paused) {
            vm.expectRevert(paused ? abi.encodeWithSignature("EnforcedPause()") : abi.encodeWithSelector(IPaymentVault.VaultZeroAmount.selector));
            vault.claimFees(token, ids);
            return;
        }
        Snapshot memory before = _snapshot();
        uint256 vaultBefore = _balanceOf(token, address(vault));
        if (caller == address(vault)) caller = address(this);
        vm.prank(caller);
        vault.claimFees(token, ids);
        if (vaultBefore - _balanceOf(token, address(vault)) != total) _violation("claim moved a different amount");
        ghostFeesClaimed[token] += total;
        for (uint256 i; i < count; ++i) {
            modelFees[ids[i]][token] = 0;
        }
        _checkNoUnauthorisedDecrease(before, 0, address(1), 0, true);
        ++calls["claimFees"];
    }

    function _totalFees(address token) internal view returns (uint256 total) {
        for (uint256 i; i < merchantIds.length; ++i) {
            total += modelFees[merchantIds[i]][token];
        }
    }

    function setMerchantFee(uint256 merchantSeed, uint256 feeSeed) external {
        if (merchantIds.length == 0) return;
        uint64 id = merchantIds[merchantSeed % merchantIds.length];
        uint16 fee = uint16(_bound(feeSeed, 0, vault.MAX_FEE_BPS()));
        Snapshot memory before = _snapshot();
        vm.prank(admin);
        vault.setMerchantFee(id, fee);
        feeOf[id] = fee;
        _checkNoUnauthorisedDecrease(before, 0, address(1), 0, false);
        ++calls["setMerchantFee"];
    }

    /// @dev The merchant's signer hands over to a new key; later payouts are signed with it.
    function rotateSigner(uint256 merchantSeed, uint256 keySeed) external {
        if (merchantIds.length == 0) return;
        uint64 id = merchantIds[merchantSeed % merchantIds.length];
        uint256 pk = _bound(keySeed, 1, SECP256K1_N - 1);
        Snapshot memory before = _snapshot();
        vm.prank(vm.addr(signerKey[id]));
        vault.setMerchantSigner(id, vm.addr(pk));
        signerKey[id] = pk;
        _checkNoUnauthorisedDecrease(before, 0, address(1), 0, false);
        ++calls["rotateSigner"];
    }

    /// @dev USDT's owner turns its transfer fee on or off (up to 2%, capped by a random maximum).
    function setTetherFee(uint256 bps, uint256 maxFee) external {
        vm.prank(usdt.owner());
        usdt.setParams(_bound(bps, 0, 200), _bound(maxFee, 0, 1e24));
        ++calls["setTetherFee"];
    }

    // ============================================================ helpers

    function _address(uint256 salt) internal view returns (address) {
        return vault.predictDepositAddress(
            uint64(salt >> 192), IPaymentVault.DepositKind(uint8(salt >> 184)), uint256(uint184(salt))
        );
    }

    function _balanceOf(address token, address who) internal view returns (uint256) {
        return token == NATIVE ? who.balance : MockERC20(token).balanceOf(who);
    }
}
