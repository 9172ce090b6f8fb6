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
 * Ghosts per token:
 *  - ghostReceived: what sweeps moved into the vault (the vault's balance increase over each sweep);
 *  - ghostFeesAccrued: the part of it the model says is platform fee (floor(received * feeBps / 10_000) per
 *    merchant group, at the merchant's current fee);
 *  - ghostPaidOut: sum of executed payout amounts;
 *  - ghostFeesClaimed: sum of claimed fees.
 * Per merchant and token: modelBalance / modelFees, updated only by what the handler did.
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
            vm.deal(_payer, amount);
            vm.prank(_payer);
            (bool ok,) = depositAddress.call{value: amount}("");
            require(ok, "native payment refused");
        } else if (token == address(usdt)) {
            amount = _bound(amount, 1, 1e27);
            usdt.mint(depositAddress, amount);
        } else {
            amount = _bound(amount, 1, 1e27);
            MockERC20(token).mint(depositAddress, amount);
        }
        ++calls["payDepositAddress"];
    }

    /// @dev The operator sweeps a random subset of the known deposit addresses for one token, grouped by
    /// merchant, with DEPLOY_FLAG set exactly on the addresses that have no code yet.
    function sweep(uint256 tokenSeed, uint256 subsetMask) external {
        uint256[] memory entries = _entries(subsetMask);
        if (entries.length == 0) return;
        // Start at a random token and take the first that one of the chosen addresses holds.
        tokenSeed %= 4;
        uint256 t = tokenSeed;
        for (uint256 k; k < 4 && !_anyHolds(_tokenList[(tokenSeed + k) % 4], entries); ++k) {
            t = (tokenSeed + k + 1) % 4;
        }
        address token = _tokenList[t];
        Snapshot memory before = _snapshot();
        uint256 vaultBefore = _balanceOf(token, address(vault));
        vm.prank(operator);
        vault.sweep(token, entries, new uint256[](0));
        uint256 vaultAfter = _balanceOf(token, address(vault));
        if (vaultAfter < vaultBefore) _violation("sweep decreased the vault's balance");
        uint256 received = vaultAfter - vaultBefore;
        ghostReceived[token] += received;
        if (_modelCredits(t, before) != received) _violation("credits differ from what arrived");
        _checkNoUnauthorisedDecrease(before, 0, address(1), 0, false);
        ++calls["sweep"];
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

    /// @dev Books each merchant's credit in the model (one group per merchant, so one floor() each) and
    /// returns the total credited.
    function _modelCredits(uint256 t, Snapshot memory before) internal returns (uint256 creditedTotal) {
        address token = _tokenList[t];
        for (uint256 m; m < merchantIds.length; ++m) {
            uint64 id = merchantIds[m];
            (uint256 bal, uint256 fees) = vault.accountOf(id, token);
            uint256 got = (bal + fees) - (before.balance[m][t] + before.fees[m][t]);
            creditedTotal += got;
            uint256 fee = (got * vault.merchant(id).feeBps) / 10_000;
            modelBalance[id][token] += got - fee;
            modelFees[id][token] += fee;
            ghostFeesAccrued[token] += fee;
        }
    }

    /// @dev A payout of a random amount of a merchant's balance, signed with vm.sign by the merchant's key
    /// and relayed by a random caller, or sent by the signer itself.
    function payout(
        uint256 merchantSeed,
        uint256 tokenSeed,
        uint256 amountSeed,
        uint256 idSkip,
        uint256 toSeed,
        bool byMerchant,
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
            (bal,) = vault.accountOf(id, token);
        }
        if (bal == 0) return;
        uint256 amount = _bound(amountSeed, 1, bal);
        uint256 payoutId = nextPayoutId[id] + _bound(idSkip, 0, 3);
        nextPayoutId[id] = payoutId + 1;
        IPaymentVault.Payout memory p = IPaymentVault.Payout({
            merchantId: id,
            kind: IPaymentVault.PayoutKind(toSeed % 3),
            token: token,
            to: _recipients[toSeed % 3],
            amount: amount,
            payoutId: payoutId,
            deadline: uint64(block.timestamp + (toSeed % 1000))
        });
        Snapshot memory before = _snapshot();
        uint256 vaultBefore = _balanceOf(token, address(vault));
        uint256 pk = signerKey[id];
        if (byMerchant) {
            vm.prank(vm.addr(pk));
            vault.payoutByMerchant(p);
        } else {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, vault.hashPayout(p));
            if (relayer == address(0) || relayer == address(vault)) relayer = address(this);
            vm.prank(relayer);
            vault.payout(p, abi.encodePacked(r, s, v));
        }
        if (vaultBefore - _balanceOf(token, address(vault)) != amount) _violation("payout moved a different amount");
        (uint256 balAfter,) = vault.accountOf(id, token);
        if (balAfter != bal - amount) _violation("payout debited a different amount");
        ghostPaidOut[token] += amount;
        modelBalance[id][token] -= amount;
        _checkNoUnauthorisedDecrease(before, id, token, amount, false);
        ++calls["payout"];
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
        if (total == 0) {
            vm.expectRevert(IPaymentVault.VaultZeroAmount.selector);
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
