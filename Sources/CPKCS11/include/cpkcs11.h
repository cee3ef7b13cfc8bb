/*
 * cpkcs11.h: the small part of the PKCS#11 (Cryptoki) v2.40 interface that
 * Vessel's signing library calls, written from the public OASIS specification
 * ("PKCS #11 Cryptographic Token Interface Base Specification Version 2.40").
 *
 * Platform notes (Unix):
 *   - CK_ULONG is the platform's `unsigned long` (8 bytes on LP64 Linux).
 *   - Structures use the compiler's normal alignment. Only Windows builds of
 *     Cryptoki use 1-byte packing (#pragma pack(1)); Unix modules such as
 *     SoftHSM, OpenSC and p11-kit do not, so no packing pragma appears here.
 *
 * The module is loaded at run time with dlopen(3) and its entry points are
 * reached through the table returned by C_GetFunctionList, so building needs no
 * system header or library.
 */
#ifndef VESSEL_CPKCS11_H
#define VESSEL_CPKCS11_H

#include <stddef.h>

typedef unsigned char vck_byte;
typedef unsigned char vck_bbool;
typedef unsigned long vck_ulong;
typedef vck_ulong vck_rv;
typedef vck_ulong vck_flags;
typedef vck_ulong vck_slot_id;
typedef vck_ulong vck_session_handle;
typedef vck_ulong vck_object_handle;
typedef vck_ulong vck_attribute_type;
typedef vck_ulong vck_mechanism_type;
typedef vck_ulong vck_user_type;

/* Names as in the specification, for readability of the Swift side. */
typedef vck_byte CK_BYTE;
typedef vck_bbool CK_BBOOL;
typedef vck_ulong CK_ULONG;
typedef vck_rv CK_RV;
typedef vck_flags CK_FLAGS;
typedef vck_slot_id CK_SLOT_ID;
typedef vck_session_handle CK_SESSION_HANDLE;
typedef vck_object_handle CK_OBJECT_HANDLE;
typedef vck_attribute_type CK_ATTRIBUTE_TYPE;
typedef vck_mechanism_type CK_MECHANISM_TYPE;
typedef vck_user_type CK_USER_TYPE;

typedef struct CK_VERSION {
    CK_BYTE major;
    CK_BYTE minor;
} CK_VERSION;

/* Token description filled in by C_GetTokenInfo. Text fields are blank-padded, not NUL-terminated. */
typedef struct CK_TOKEN_INFO {
    CK_BYTE label[32];
    CK_BYTE manufacturerID[32];
    CK_BYTE model[16];
    CK_BYTE serialNumber[16];
    CK_FLAGS flags;
    CK_ULONG ulMaxSessionCount;
    CK_ULONG ulSessionCount;
    CK_ULONG ulMaxRwSessionCount;
    CK_ULONG ulRwSessionCount;
    CK_ULONG ulMaxPinLen;
    CK_ULONG ulMinPinLen;
    CK_ULONG ulTotalPublicMemory;
    CK_ULONG ulFreePublicMemory;
    CK_ULONG ulTotalPrivateMemory;
    CK_ULONG ulFreePrivateMemory;
    CK_VERSION hardwareVersion;
    CK_VERSION firmwareVersion;
    CK_BYTE utcTime[16];
} CK_TOKEN_INFO;

/* One attribute of an object: a type, a value buffer and its length. */
typedef struct CK_ATTRIBUTE {
    CK_ATTRIBUTE_TYPE type;
    void *pValue;
    CK_ULONG ulValueLen;
} CK_ATTRIBUTE;

/* A mechanism with optional parameters (CKM_ECDSA takes none). */
typedef struct CK_MECHANISM {
    CK_MECHANISM_TYPE mechanism;
    void *pParameter;
    CK_ULONG ulParameterLen;
} CK_MECHANISM;

typedef CK_RV (*vck_createmutex)(void **ppMutex);
typedef CK_RV (*vck_destroymutex)(void *pMutex);
typedef CK_RV (*vck_lockmutex)(void *pMutex);
typedef CK_RV (*vck_unlockmutex)(void *pMutex);

/* Arguments to C_Initialize; with CKF_OS_LOCKING_OK the module uses native locks. */
typedef struct CK_C_INITIALIZE_ARGS {
    vck_createmutex CreateMutex;
    vck_destroymutex DestroyMutex;
    vck_lockmutex LockMutex;
    vck_unlockmutex UnlockMutex;
    CK_FLAGS flags;
    void *pReserved;
} CK_C_INITIALIZE_ARGS;

typedef CK_RV (*vck_notify)(CK_SESSION_HANDLE hSession, CK_ULONG event, void *pApplication);
/* Placeholder type for entries of the table that Vessel never calls. */
typedef CK_RV (*vck_unused)(void);

/*
 * The module's function table. The order of the entries is fixed by the
 * specification; this declaration stops after C_Sign, the last entry Vessel
 * calls. The table is owned by the module and only read through a pointer, so
 * declaring a prefix of it is layout-compatible.
 */
typedef struct CK_FUNCTION_LIST {
    CK_VERSION version;
    CK_RV (*C_Initialize)(void *pInitArgs);
    CK_RV (*C_Finalize)(void *pReserved);
    vck_unused C_GetInfo;
    vck_unused C_GetFunctionList;
    CK_RV (*C_GetSlotList)(CK_BBOOL tokenPresent, CK_SLOT_ID *pSlotList, CK_ULONG *pulCount);
    vck_unused C_GetSlotInfo;
    CK_RV (*C_GetTokenInfo)(CK_SLOT_ID slotID, CK_TOKEN_INFO *pInfo);
    vck_unused C_GetMechanismList;
    vck_unused C_GetMechanismInfo;
    vck_unused C_InitToken;
    vck_unused C_InitPIN;
    vck_unused C_SetPIN;
    CK_RV (*C_OpenSession)(CK_SLOT_ID slotID, CK_FLAGS flags, void *pApplication,
                           vck_notify Notify, CK_SESSION_HANDLE *phSession);
    CK_RV (*C_CloseSession)(CK_SESSION_HANDLE hSession);
    vck_unused C_CloseAllSessions;
    vck_unused C_GetSessionInfo;
    vck_unused C_GetOperationState;
    vck_unused C_SetOperationState;
    CK_RV (*C_Login)(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
                     CK_BYTE *pPin, CK_ULONG ulPinLen);
    CK_RV (*C_Logout)(CK_SESSION_HANDLE hSession);
    vck_unused C_CreateObject;
    vck_unused C_CopyObject;
    vck_unused C_DestroyObject;
    vck_unused C_GetObjectSize;
    CK_RV (*C_GetAttributeValue)(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                 CK_ATTRIBUTE *pTemplate, CK_ULONG ulCount);
    vck_unused C_SetAttributeValue;
    CK_RV (*C_FindObjectsInit)(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE *pTemplate, CK_ULONG ulCount);
    CK_RV (*C_FindObjects)(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE *phObject,
                           CK_ULONG ulMaxObjectCount, CK_ULONG *pulObjectCount);
    CK_RV (*C_FindObjectsFinal)(CK_SESSION_HANDLE hSession);
    vck_unused C_EncryptInit;
    vck_unused C_Encrypt;
    vck_unused C_EncryptUpdate;
    vck_unused C_EncryptFinal;
    vck_unused C_DecryptInit;
    vck_unused C_Decrypt;
    vck_unused C_DecryptUpdate;
    vck_unused C_DecryptFinal;
    vck_unused C_DigestInit;
    vck_unused C_Digest;
    vck_unused C_DigestUpdate;
    vck_unused C_DigestKey;
    vck_unused C_DigestFinal;
    CK_RV (*C_SignInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM *pMechanism, CK_OBJECT_HANDLE hKey);
    CK_RV (*C_Sign)(CK_SESSION_HANDLE hSession, CK_BYTE *pData, CK_ULONG ulDataLen,
                    CK_BYTE *pSignature, CK_ULONG *pulSignatureLen);
} CK_FUNCTION_LIST;

typedef CK_RV (*vck_get_function_list)(CK_FUNCTION_LIST **ppFunctionList);

/* Return values. */
#define CKR_OK                            0x00000000UL
#define CKR_PIN_INCORRECT                 0x000000A0UL
#define CKR_PIN_LOCKED                    0x000000A4UL
#define CKR_USER_ALREADY_LOGGED_IN        0x00000100UL
#define CKR_USER_NOT_LOGGED_IN            0x00000101UL
#define CKR_BUFFER_TOO_SMALL              0x00000150UL
#define CKR_CRYPTOKI_NOT_INITIALIZED      0x00000190UL
#define CKR_CRYPTOKI_ALREADY_INITIALIZED  0x00000191UL

/* Flags. */
#define CKF_TOKEN_PRESENT                 0x00000001UL
#define CKF_OS_LOCKING_OK                 0x00000002UL
#define CKF_SERIAL_SESSION                0x00000004UL

/* User types. */
#define CKU_USER                          1UL

/* Object classes. */
#define CKO_PUBLIC_KEY                    2UL
#define CKO_PRIVATE_KEY                   3UL

/* Key types. */
#define CKK_EC                            3UL

/* Attribute types. */
#define CKA_CLASS                         0x00000000UL
#define CKA_LABEL                         0x00000003UL
#define CKA_KEY_TYPE                      0x00000100UL
#define CKA_EC_PARAMS                     0x00000180UL
#define CKA_EC_POINT                      0x00000181UL

/* Mechanisms. */
#define CKM_ECDSA                         0x00001041UL

/* Unavailable attribute marker returned in ulValueLen. */
#define CK_UNAVAILABLE_INFORMATION        (~0UL)

#endif /* VESSEL_CPKCS11_H */
